/**
 * Requests waiting for a name to be located (RFC 3263; outbound-targets.ts). The core
 * is synchronous and the lookup is not: a request whose target's name is not in the
 * cache is parked here, with its server transaction (so retransmissions are absorbed
 * and a CANCEL finds it), while the glue looks the name up; the result re-enters every
 * request parked on that name at once. One lookup per name, however many requests wait
 * on it. Bounded: names come from message content, and a DNS server that is slow to
 * answer must not turn into memory; past the bound a request gets 503 at once.
 */
import type { ServerTransaction, TimerHandle, TransactionLayer } from "../transaction/index.ts";
import type { TimerPayload } from "./branch.ts";
import type { ForwardPlan } from "./forward.ts";
import type { TargetQuery } from "./outbound-targets.ts";
import type { Dest } from "./types.ts";

/** Requests parked at most, over all names. */
export const MAX_PARKED_REQUESTS = 2048;
/**
 * How long a request waits for its lookup at most. The DNS client bounds a lookup
 * itself (each server a second, twice); this is the core's own bound, so that no
 * request waits on a glue that never calls back, and well inside the caller's Timer
 * B/F (32 s), so that the caller hears our 503 rather than its own timeout.
 */
export const PARK_TIMEOUT_MS = 10_000;

export interface Parked {
  stx: ServerTransaction<Dest>;
  plan: ForwardPlan;
  hash: string;
  query: TargetQuery;
  key: string;
  /** The target came from X-Genesys-Route (removed from the forwarded copy). */
  consumedXGenesysRoute: boolean;
}

type Timers = Pick<TransactionLayer<Dest, TimerPayload>, "setTimer" | "clearTimer">;

export class ParkedRequests {
  readonly #byKey = new Map<string, Parked[]>();
  /** Each parked request, with its PARK_TIMEOUT_MS deadline ({ kind: "parked" }). */
  readonly #byStx = new Map<number, { p: Parked; timer: TimerHandle }>();
  readonly #timers: Timers;
  readonly #max: number;

  constructor(timers: Timers, max = MAX_PARKED_REQUESTS) {
    this.#timers = timers;
    this.#max = max;
  }

  get size(): number {
    return this.#byStx.size;
  }

  /** Names being looked up for a parked request. */
  get names(): number {
    return this.#byKey.size;
  }

  /**
   * Parks a request. "first": no lookup of its name runs yet, the caller starts one;
   * "joined": one runs; "full": not parked (the bound is reached).
   */
  park(p: Parked, now: number): "first" | "joined" | "full" {
    if (this.#byStx.size >= this.#max) return "full";
    const timer = this.#timers.setTimer(now + PARK_TIMEOUT_MS, { kind: "parked", stxId: p.stx.id });
    this.#byStx.set(p.stx.id, { p, timer });
    const waiting = this.#byKey.get(p.key);
    if (waiting) {
      waiting.push(p);
      return "joined";
    }
    this.#byKey.set(p.key, [p]);
    return "first";
  }

  /** Every request parked on a name, no longer parked (its lookup ended). */
  take(key: string): Parked[] {
    const waiting = this.#byKey.get(key);
    if (!waiting) return [];
    this.#byKey.delete(key);
    for (const p of waiting) this.#forget(p.stx.id);
    return waiting;
  }

  /** The request of this server transaction, no longer parked (a CANCEL, its deadline). */
  remove(stxId: number): Parked | undefined {
    const p = this.#byStx.get(stxId)?.p;
    if (!p) return undefined;
    this.#forget(stxId);
    const waiting = this.#byKey.get(p.key)!;
    waiting.splice(waiting.indexOf(p), 1);
    // The lookup still runs; its result then only fills the cache.
    if (waiting.length === 0) this.#byKey.delete(p.key);
    return p;
  }

  #forget(stxId: number): void {
    // A deadline that already fired (remove from its own timer) clears as a no-op.
    this.#timers.clearTimer(this.#byStx.get(stxId)!.timer);
    this.#byStx.delete(stxId);
  }
}
