/**
 * Names the SIP listener that could not be opened. The runtimes' bind errors do not
 * (Bun: "bind EADDRINUSE 127.0.0.1", Deno: "Address already in use"), and `listen`
 * opens them all at once; so after a failure, when every socket is closed again, each
 * configured address is tried alone and the first that fails is the one reported.
 */
import { formatHostPort } from "../net/address.ts";
import type { Runtime } from "../runtime/types.ts";

export interface ListenSpec {
  transport: string;
  host: string;
  port: number;
}

const uriOf = (s: ListenSpec) => `${s.transport}://${formatHostPort(s.host, s.port)}`;

/** "udp://127.0.0.1:5060: address in use (EADDRINUSE)"-like, for `cannot start: …`. */
export async function describeListenFailure(
  rt: Runtime,
  specs: readonly ListenSpec[],
  error: Error,
): Promise<string> {
  for (const spec of specs) {
    try {
      if (spec.transport === "udp") {
        (await rt.bindUdp({ host: spec.host, port: spec.port }, { onMessage() {} })).close();
      } else if (spec.transport === "tcp" || spec.transport === "tls") {
        (await rt.listenTcp({ host: spec.host, port: spec.port }, { onData() {} })).close();
      }
    } catch (e) {
      return `SIP listener ${uriOf(spec)}: ${explainBindError(e as Error)}`;
    }
  }
  return `SIP listeners ${specs.map(uriOf).join(", ")}: ${explainBindError(error)}`;
}

const KNOWN: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "address not available on this host",
};

export function explainBindError(e: Error): string {
  const code = (e as { code?: string }).code;
  return code && KNOWN[code] ? `${KNOWN[code]} (${code})` : e.message;
}
