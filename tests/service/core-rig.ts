// The set-up the service-glue tests share: sip-core built from a config text over a
// fake runtime, sending through a transport that hands every message to the test,
// and a pair member's answer to one of its probes.
import { getLogger } from "@logtape/logtape";
import { parseConfig } from "../../src/config/index.ts";
import type { Runtime } from "../../src/runtime/types.ts";
import { registerCoreMetrics } from "../../src/service/core-metrics.ts";
import { createServiceMetrics } from "../../src/service/metrics.ts";
import { createSipCore, type SipCore } from "../../src/service/sip-core.ts";
import type { Endpoint } from "../../src/transport/types.ts";
import { buildResponse, type SipMessage } from "../support/sip-text.ts";
import { fakeTransport } from "./fake-transport.ts";

/** One message sip-core sent, parsed, and where to. */
export interface Sent {
  to: Endpoint;
  msg: SipMessage;
}

export interface CoreRig {
  core: SipCore;
  metrics: ReturnType<typeof createServiceMetrics>;
}

/** sip-core from `config` (YAML text); every send goes to `send`; probes leave from `probePort`. */
export function coreRig(opts: {
  config: string;
  rt: Runtime;
  send: (bytes: Uint8Array, to: Endpoint) => void;
  probePort?: number;
}): CoreRig {
  const parsed = parseConfig(opts.config, "test.yaml");
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  const metrics = createServiceMetrics(opts.rt, opts.rt.now());
  const transport = fakeTransport(opts.send, opts.probePort ?? null);
  const core = createSipCore({
    rt: opts.rt,
    config: parsed.config,
    metrics,
    transport,
    log: getLogger(["vipless-test"]),
  });
  registerCoreMetrics(metrics, core, transport);
  return { core, metrics };
}

/** A member's answer to probe `req` (its Via as sent, unless `via` is given). */
export function probeAnswer(req: SipMessage, status: number, via = req.get("via")!): string {
  return buildResponse(status, "OK", [
    ["Via", via],
    ["From", req.get("from")!],
    ["To", `${req.get("to")!};tag=member`],
    ["Call-ID", req.get("call-id")!],
    ["CSeq", req.get("cseq")!],
  ]);
}
