/**
 * vipless's own answers to requests: through the server transaction when one exists
 * (so retransmissions are absorbed and the transaction ends on the RFC's timers), or
 * statelessly to where the Via says (§8.2.6, §18.2.2) when none may be created.
 */
import { H_VIA } from "../sip/header-names.ts";
import { buildResponse, type SipMessage, SipParseError } from "../sip/index.ts";
import type { Action, ServerTransaction, TransactionLayer } from "../transaction/index.ts";
import { randomToken } from "../sip/random-token.ts";
import { answer, type LocalAnswer, serviceUnavailable } from "./answers.ts";
import { answered } from "./overload-control.ts";
import type { Dest, DropReason, ProxyOutput, Source } from "./types.ts";
import { upstreamDest } from "./upstream.ts";

const ALLOW =
  "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK, MESSAGE";

export interface ResponderHooks {
  onLocalResponse?(status: number): void;
  onDrop?(reason: DropReason): void;
}

export class Responder<U> {
  readonly #txl: TransactionLayer<Dest, U>;
  readonly #out: ProxyOutput;
  readonly #hooks: ResponderHooks;
  readonly #run: (actions: Action<Dest, U>[], now: number) => void;
  userAgent: string;
  /** RFC 7339 parameters for a client's Via that asks for oc, or null (overload-control.ts). */
  oc: () => string | null = () => null;

  constructor(
    txl: TransactionLayer<Dest, U>,
    out: ProxyOutput,
    hooks: ResponderHooks,
    run: (actions: Action<Dest, U>[], now: number) => void,
    userAgent: string,
  ) {
    this.#txl = txl;
    this.#out = out;
    this.#hooks = hooks;
    this.#run = run;
    this.userAgent = userAgent;
  }

  /** Answers through the server transaction; a final answer gets our To tag. */
  local(stx: ServerTransaction<Dest>, req: SipMessage, a: LocalAnswer, now: number): void {
    const { status } = a;
    if (status >= 200) this.#hooks.onLocalResponse?.(status);
    // Our To tag is unguessable too (RFC 3261 §19.3); retransmissions of this final
    // answer come from the transaction, so they carry the same one.
    const toTag = status > 100 && req.to?.tag == null ? `vl${randomToken(6)}` : undefined;
    const bytes = answered(
      req,
      buildResponse(req, status, a.reason, {
        toTag,
        headers: status === 100 ? a.headers : [["Server", this.userAgent], ...a.headers],
      }),
      this.oc(),
    );
    this.#run(this.#txl.respond(stx, { status, bytes, toTag }, now), now);
  }

  /**
   * Answers without a transaction, where the top Via says (§18.2.2); when it is
   * malformed, to the address the request came from (RFC 4475 §3.1.2.1 badinv01.dat:
   * the 400 must still reach the sender). Dropped without any Via.
   */
  stateless(req: SipMessage, src: Source, a: LocalAnswer): void {
    let bytes: Uint8Array;
    let dest: Dest;
    try {
      if (req.firstLineOfId(H_VIA) < 0) return this.drop("malformed-request");
      dest = viaDestOrSource(req, src);
      bytes = answered(
        req,
        buildResponse(req, a.status, a.reason, {
          headers: [["Server", this.userAgent], ...a.headers],
        }),
        this.oc(),
      );
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      return this.drop("malformed-request");
    }
    this.#hooks.onLocalResponse?.(a.status);
    this.#out.send(bytes, dest);
  }

  /** OPTIONS addressed to vipless: 200 while it can serve its pairs, else 503. */
  options(req: SipMessage, src: Source, ready: boolean): void {
    const headers: [string, string][] = [["Allow", ALLOW], ["Accept", "application/sdp"]];
    this.stateless(req, src, ready ? answer(200, "OK", headers) : serviceUnavailable(headers));
  }

  drop(reason: DropReason): void {
    this.#hooks.onDrop?.(reason);
  }
}

/** Where the top Via sends the answer, or the request's source when it cannot be read. */
function viaDestOrSource(req: SipMessage, src: Source): Dest {
  try {
    return upstreamDest(req.topVia!, src);
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    return { transport: src.transport, host: src.host, port: src.port, conn: src.conn };
  }
}
