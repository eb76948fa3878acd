/**
 * The edits of a forwarded request (RFC 3261 §16.6), as one pure function of a small
 * plan: Route fix-ups, X-Genesys-Route removal, Max-Forwards, Record-Route, our Via
 * (which offers RFC 7339 overload control to the next hop),
 * and the move to TCP of a request too large for UDP (§18.1.1).
 */
import { MessageEditor, type SipMessage } from "../sip/index.ts";
import { OC_OFFER } from "./overload-control.ts";
import type { PreprocessedRoutes } from "./route-preprocess.ts";
import type { Dest, Source } from "./types.ts";

const DIALOG_CREATING = new Set(["INVITE", "SUBSCRIBE", "REFER", "NOTIFY"]);
/** Above this size a request leaves over TCP, not UDP (RFC 3261 §18.1.1). */
export const UDP_MTU_LIMIT = 1300;

/** Everything the forwarded copy depends on besides its branch and destination. */
export interface ForwardPlan {
  request: SipMessage;
  source: Source;
  routes: Pick<PreprocessedRoutes, "newRequestUri" | "popRoutes">;
  removeXGenesysRoute: boolean;
  /** Our sent-by, as written into Via and Record-Route. */
  viaHost: string;
  /** The same over TLS (our TLS port); absent: viaHost. */
  tlsViaHost?: string;
  /** Our Via over TLS offers the connection for reuse (RFC 5923 `alias`). */
  tlsAlias?: boolean;
}

/**
 * The bytes to send to `dest`, or to its TCP twin when they are too large for UDP
 * (unless `keepUdp`: the retry over UDP after the TCP attempt was refused).
 */
export function forwardRequest(
  plan: ForwardPlan,
  dest: Dest,
  branch: string,
  keepUdp = false,
): { dest: Dest; bytes: Uint8Array } {
  const bytes = edited(plan, dest.transport, branch);
  if (dest.transport !== "udp" || keepUdp || bytes.byteLength <= UDP_MTU_LIMIT) {
    return { dest, bytes };
  }
  const tcp: Dest = { ...dest, transport: "tcp" };
  return { dest: tcp, bytes: edited(plan, "tcp", branch) };
}

function edited(plan: ForwardPlan, transport: string, branch: string): Uint8Array {
  const req = plan.request;
  const hostOf = (t: string) => (t === "tls" ? plan.tlsViaHost ?? plan.viaHost : plan.viaHost);
  const { newRequestUri, popRoutes } = plan.routes;
  const e = new MessageEditor(req);
  e.setTopViaReceived(plan.source.host, plan.source.port);
  if (newRequestUri !== null) {
    // Strict-router fix-up: the last Route entry became the Request-URI; the Route set
    // is rewritten without it (and without our own entries) in its original order.
    e.setRequestUri(newRequestUri);
    e.removeHeader("Route");
    for (const r of req.routes.slice(popRoutes, -1)) e.addHeader("Route", r.raw);
  } else {
    for (let i = 0; i < popRoutes; i++) e.popRoute();
  }
  if (plan.removeXGenesysRoute) e.removeHeader("X-Genesys-Route");
  e.decrementMaxForwards();
  if (DIALOG_CREATING.has(req.method) && req.to?.tag == null) {
    // The editor keeps call order for lines inserted at one place, so push top first.
    for (const r of recordRoute(hostOf, plan.source.transport, transport)) {
      e.pushRecordRoute(r);
    }
  }
  const alias = transport === "tls" && plan.tlsAlias ? ";alias" : "";
  const params = `;branch=${branch};rport${alias}${OC_OFFER}`;
  e.pushVia(`SIP/2.0/${transport.toUpperCase()} ${hostOf(transport)}${params}`);
  if (transport !== "udp") e.ensureContentLength();
  return e.toBytes();
}

/**
 * Our Record-Route entries, top first; two when the transports differ (RFC 5658), each
 * with the port of its own transport (TLS has a port of its own). The
 * top one is the callee's first Route, so it names the outbound side; the caller uses
 * the route set reversed, so the bottom one names the inbound side.
 */
function recordRoute(
  host: (transport: string) => string,
  inbound: string,
  outbound: string,
): string[] {
  const uri = (t: string) =>
    `<sip:${host(t)}${t === "udp" ? "" : `;transport=${t}`};lr${
      inbound !== outbound ? ";r2=on" : ""
    }>`;
  return inbound === outbound ? [uri(outbound)] : [uri(outbound), uri(inbound)];
}
