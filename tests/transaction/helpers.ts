// Shared test fixtures: message facts, a fake clock driver, and action filters.
import type { Action } from "../../src/transaction/actions.ts";
import type { OutgoingRequest, RequestFacts, ResponseFacts } from "../../src/transaction/facts.ts";
import type { TransactionLayer } from "../../src/transaction/layer.ts";

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** An incoming request from a UAC at 192.0.2.1:5060, with RFC 3261 branch by default. */
export function request(overrides: Partial<RequestFacts> = {}): RequestFacts {
  return {
    method: "INVITE",
    branch: "z9hG4bK-uac-1",
    sentBy: "192.0.2.1:5060",
    requestUri: "sip:bob@example.com",
    callId: "call-1@192.0.2.1",
    fromTag: "from-1",
    toTag: "",
    cseq: 1,
    viaKey: "SIP/2.0/UDP 192.0.2.1:5060",
    ...overrides,
  };
}

/** An outgoing request whose ACK builder labels the ACK with the status it acknowledges. */
export function outgoing(method: string, branch = "z9hG4bK-px-1"): OutgoingRequest {
  return {
    method,
    branch,
    bytes: bytes(`${method} ${branch}`),
    buildAck: method === "INVITE" ? (r) => bytes(`ACK ${branch} for ${r.status}`) : undefined,
  };
}

export function response(
  status: number,
  method = "INVITE",
  branch = "z9hG4bK-px-1",
): ResponseFacts {
  return { status, branch, cseqMethod: method };
}

export interface Timed<D, U> {
  readonly at: number;
  readonly action: Action<D, U>;
}

/**
 * The fake clock: ticks the layer at each deadline up to `until` (inclusive), the way
 * the runtime glue would, and returns what happened with its time.
 */
export function runUntil<D, U>(layer: TransactionLayer<D, U>, until: number): Timed<D, U>[] {
  const log: Timed<D, U>[] = [];
  for (let step = 0; step < 1_000_000; step++) {
    const at = layer.nextDeadline();
    if (at === undefined || at > until) return log;
    for (const action of layer.tick(at)) log.push({ at, action });
  }
  throw new Error("timer loop did not settle");
}

/** Times of the `send` actions in a log. */
export function sendTimes<D, U>(log: Timed<D, U>[]): number[] {
  return log.filter((e) => e.action.kind === "send").map((e) => e.at);
}

/** The kinds of actions, in order, e.g. ["send", "terminated"]. */
export function kinds<D, U>(actions: Action<D, U>[]): string[] {
  return actions.map((a) => a.kind);
}

/** Text of every `send` action. */
export function sent<D, U>(actions: Action<D, U>[]): string[] {
  return actions.flatMap((a) => (a.kind === "send" ? [text(a.bytes)] : []));
}
