/**
 * Per pair member: requests forwarded to it, forwards that were retries (the failover
 * from the other member), and forwards that failed at it (a transport error) or got no
 * answer in time. Counted by the member's address on the hot path (one Map update);
 * labelled with its pair, role and URI at scrape time, so a renamed pair reports under
 * its new name, and every configured member has every series from boot, at 0.
 */
import type { Labels } from "../metrics/registry.ts";
import { addressKey } from "../net/address.ts";

export type TrafficKind = "forwarded" | "retried" | "failed" | "timed_out";

const KINDS: readonly TrafficKind[] = ["forwarded", "retried", "failed", "timed_out"];

interface Address {
  host: string;
  port: number;
}

export class MemberTraffic {
  readonly #counts = new Map<string, Record<TrafficKind, number>>();

  forwarded(member: Address, retry: boolean): void {
    const c = this.#of(member);
    c.forwarded++;
    if (retry) c.retried++;
  }

  /** A forward failed: "transport-error" is a failure, anything else a timeout. */
  failed(member: Address, why: string): void {
    this.#of(member)[why === "transport-error" ? "failed" : "timed_out"]++;
  }

  /** The samples of one kind, for the members configured now. */
  samples(kind: TrafficKind, members: ReadonlyArray<Address & { labels: Labels }>) {
    return members.map((
      m,
    ): [Labels, number] => [m.labels, this.#counts.get(keyOf(m))?.[kind] ?? 0]);
  }

  #of(member: Address): Record<TrafficKind, number> {
    const key = keyOf(member);
    let c = this.#counts.get(key);
    if (!c) {
      c = { forwarded: 0, retried: 0, failed: 0, timed_out: 0 };
      this.#counts.set(key, c);
    }
    return c;
  }
}

export { KINDS as TRAFFIC_KINDS };

const keyOf = (a: Address) => addressKey(a.host, a.port);
