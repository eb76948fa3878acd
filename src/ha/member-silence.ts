/**
 * A member that has gone silent: requests forwarded to it for `probe.timeout` on the
 * active clock, and nothing at all back from it since the first of them (no 100
 * Trying, no answer). A live server sends a 100 Trying to an INVITE within 200 ms
 * (RFC 3261 §17.2.1) and answers the rest as fast, so a killed member shows as silence
 * long before a forwarded request reaches `failover.timeout` (1 s by default). Silence
 * is treated as a forward failure (pair-registry.ts onForwardFailure): the member is
 * suspect and probed at once, and only when that probe misses too is it down. So a
 * silence that was only a slow answer costs one extra probe, never a switchover.
 *
 * Measured with `--failover` at 80 % of the top rate (bench/results.md): the switchover
 * came 1.198 s after the kill, from the forward failure at failover.timeout plus one
 * probe; with this, about probe.timeout twice.
 *
 * The clock is the HA judgement's (service/active-clock.ts): time during which vipless
 * did not read its sockets counts as no one's silence.
 */
import { addressKey } from "../net/address.ts";

export class MemberSilence {
  /** Per member: since when requests wait with nothing heard back, and if reported. */
  readonly #waiting = new Map<string, { since: number; reported: boolean }>();

  /**
   * A request that expects an answer went to the member. True once per silence: it
   * has now lasted `silenceMs` (the caller makes the member suspect).
   */
  forwarded(member: Address, now: number, silenceMs: number): boolean {
    const key = keyOf(member);
    const w = this.#waiting.get(key);
    if (w === undefined) {
      this.#waiting.set(key, { since: now, reported: false });
      return false;
    }
    if (w.reported || now - w.since < silenceMs) return false;
    w.reported = true;
    return true;
  }

  /** The member responded to a request forwarded to it. */
  heard(member: Address): void {
    if (this.#waiting.size > 0) this.#waiting.delete(keyOf(member));
  }
}

interface Address {
  host: string;
  port: number;
}

const keyOf = (a: Address) => addressKey(a.host, a.port);
