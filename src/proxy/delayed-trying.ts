/**
 * The 100 Trying of an INVITE, sent only when nothing else went up in time.
 *
 * RFC 3261 §17.2.1: the server transaction MUST send a 100 (Trying) unless it knows the
 * TU will answer within 200 ms; its purpose is to stop the caller's retransmissions,
 * whose first comes after T1 (500 ms). reSIProcate defers it the same way (its T100
 * timer). A member answers most INVITEs within milliseconds, with its own 180 or 200
 * relayed at once, so a 100 sent at once is, for a basic call, one of the six datagrams
 * vipless sends and builds for nothing (the bench's calls: 100, INVITE, 200, ACK, BYE,
 * 200). A retransmitted INVITE that arrives before the delay is over gets the 100 at
 * once (proxy-core). While vipless sheds calls (its own loop lags: overload-control.ts)
 * the premise fails, the member's answer may wait behind vipless's backlog, and a late
 * 100 costs a caller retransmission, more than the 100 saves: the 100 goes at once.
 *
 * The delay is the same for every INVITE, so deadlines arrive in order: the FIFO of
 * linger-queue.ts, with no per-INVITE timer.
 */
import type { SipMessage } from "../sip/index.ts";
import type { ServerTransaction } from "../transaction/index.ts";
import { LingerQueue } from "../transaction/linger-queue.ts";
import { answer } from "./answers.ts";
import type { Responder } from "./responder.ts";
import type { Dest } from "./types.ts";

/** RFC 3261 §17.2.1's bound; never more than T1, when an operator set T1 lower. */
export const TRYING_DELAY_MS = 200;

interface Pending {
  readonly stx: ServerTransaction<Dest>;
  readonly req: SipMessage;
  lingerUntil: number;
}

/** Whether `stx` has sent nothing yet and may still answer: its 100 is owed. */
function owesTrying(stx: ServerTransaction<Dest>): boolean {
  return stx.isInvite && stx.lastStatus === 0 && stx.awaitsFinal;
}

export class DelayedTrying {
  readonly #queue = new LingerQueue<Pending>();
  readonly #responder: Pick<Responder<unknown>, "local">;

  constructor(responder: Pick<Responder<unknown>, "local">) {
    this.#responder = responder;
  }

  /**
   * The INVITE `req` got `stx`: its 100 goes at `now + delay` unless answered before, or
   * at once while vipless is `shedding`.
   */
  defer(
    stx: ServerTransaction<Dest>,
    req: SipMessage,
    now: number,
    t1Ms: number,
    shedding: boolean,
  ): void {
    if (shedding) return this.#sendIfOwed(stx, req, now);
    this.#queue.push({ stx, req, lingerUntil: 0 }, now + Math.min(TRYING_DELAY_MS, t1Ms));
  }

  /** A retransmission of `req` that `stx` absorbed: the caller waited T1, its 100 goes now. */
  retransmitted(stx: ServerTransaction<Dest>, req: SipMessage, now: number): void {
    this.#sendIfOwed(stx, req, now);
  }

  nextDeadline(): number | undefined {
    return this.#queue.nextDeadline();
  }

  /** Sends the 100s whose delay is over and that are still owed. */
  tick(now: number): void {
    for (let p = this.#queue.popDue(now); p !== undefined; p = this.#queue.popDue(now)) {
      this.#sendIfOwed(p.stx, p.req, now);
    }
  }

  #sendIfOwed(stx: ServerTransaction<Dest>, req: SipMessage, now: number): void {
    if (owesTrying(stx)) this.#responder.local(stx, req, answer(100), now);
  }
}
