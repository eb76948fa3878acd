/**
 * Calls placed continuously through vipless by one test endpoint: each is INVITE, 200,
 * ACK, a short hold, then BYE. Every outcome is kept so the demo can say, second by
 * second, which server answered and whether anything failed.
 */
import type { TestUa } from "../../tests/support/test-ua.ts";
import type { SocketAddress } from "../../tests/support/sip-peer.ts";
import { uriOf } from "../../tests/support/sip-text.ts";

export interface CallOutcome {
  id: number;
  startedAt: number;
  /** When the INVITE got its final response (or gave up). */
  answeredAt: number;
  /** INVITE final status (408 when nothing came back in time). */
  status: number;
  /** User part of the answering server's Contact: "primary" or "backup". */
  answeredBy: string | null;
  /** BYE final status; null when there was no call to hang up. */
  byeStatus: number | null;
  /** Who answered the BYE (its Server header names the demo server). */
  byeAnsweredBy: string | null;
  endedAt: number;
  /** Why the call counts as failed; null when it went through. */
  failure: string | null;
}

export interface CallLoadOptions {
  ua: TestUa;
  proxy: SocketAddress;
  /** Request-URI and To of every call. */
  callee: string;
  ratePerSecond: number;
  holdMs: number;
  /** Give up on an INVITE or BYE after this long. */
  timeoutMs: number;
  onAnswered?: (c: CallOutcome) => void;
  onEnded?: (c: CallOutcome) => void;
}

/** The demo server's name from a Contact like `<sip:primary@127.0.0.1:5070>`. */
function serverName(contact: string | undefined): string | null {
  if (!contact) return null;
  const m = /^sips?:([^@;>]+)@/.exec(uriOf(contact));
  return m ? m[1] : null;
}

/** The demo server's name from a `Server: vipless-test-<name>` header. */
function serverHeaderName(server: string | undefined): string | null {
  const m = /vipless-test-(\S+)/.exec(server ?? "");
  return m ? m[1] : null;
}

export class CallLoad {
  readonly outcomes: CallOutcome[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #inFlight = new Set<Promise<void>>();
  #next = 1;

  constructor(readonly o: CallLoadOptions) {}

  start(): void {
    this.#timer = setInterval(() => this.#place(), 1000 / this.o.ratePerSecond);
    this.#place();
  }

  /** Stops placing new calls; resolves when the running ones ended (bounded by `ms`). */
  async stop(ms: number): Promise<void> {
    clearInterval(this.#timer);
    const all = Promise.all([...this.#inFlight]).then(() => true);
    const late = new Promise<false>((r) => setTimeout(() => r(false), ms));
    await Promise.race([all, late]);
  }

  get running(): number {
    return this.#inFlight.size;
  }

  #place(): void {
    const p = this.#run(this.#next++).catch(() => {});
    this.#inFlight.add(p);
    p.finally(() => this.#inFlight.delete(p));
  }

  async #run(id: number): Promise<void> {
    const { ua, proxy, callee, timeoutMs } = this.o;
    const c: CallOutcome = {
      id,
      startedAt: Date.now(),
      answeredAt: 0,
      status: 0,
      answeredBy: null,
      byeStatus: null,
      byeAnsweredBy: null,
      endedAt: 0,
      failure: null,
    };
    const r = await ua.call(proxy, { to: callee, timeoutMs });
    c.answeredAt = Date.now();
    c.status = r.status;
    c.answeredBy = serverName(r.final?.get("contact"));
    this.o.onAnswered?.(c);
    if (r.status !== 200 || !r.dialog) {
      c.failure = r.timedOut ? "no answer to the INVITE" : `INVITE got ${r.status}`;
    } else {
      await new Promise((res) => setTimeout(res, this.o.holdMs));
      const bye = await r.dialog.bye({ timeoutMs });
      c.byeStatus = bye.status;
      c.byeAnsweredBy = serverHeaderName(bye.final?.get("server"));
      if (bye.status !== 200) {
        c.failure = bye.timedOut ? "no answer to the BYE" : `BYE got ${bye.status}`;
      }
    }
    c.endedAt = Date.now();
    this.outcomes.push(c);
    this.o.onEnded?.(c);
  }
}
