/**
 * Where a request for a plain URI named by DNS name without a port goes (RFC 3263 §4):
 * the router asks this cache, synchronously, for the targets the name was located to;
 * when they are not known (or no longer hold), the request waits (parked-requests.ts)
 * while the glue looks the name up (dns/locate.ts, NAPTR → SRV → A/AAAA) and hands the
 * result back with `store`. The cache is the core's, on the core's clock: a result
 * holds for the lowest TTL of the records it was built from, and the SRV weights are
 * drawn again for each request (RFC 2782), not once per TTL.
 */
import { type Located, type LocateRequest, type Target, weightedOrder } from "../dns/locate.ts";
import type { Dest } from "./types.ts";

/**
 * What is located: a URI's host (or maddr) without a port (a port given skips NAPTR and
 * SRV, so it never comes here); a null transport lets NAPTR choose, sips: is TLS only.
 */
export type TargetQuery = LocateRequest & { port: null };

/** Names whose result is kept at most; past it the oldest goes (names come from messages). */
export const MAX_CACHED_NAMES = 4096;
/** At most this many targets become next hops (Locator bounds them too). */
export const MAX_TARGET_HOPS = 8;

export function queryKey(q: TargetQuery): string {
  return `${q.secure ? "sips" : "sip"}|${q.transport ?? ""}|${q.host.toLowerCase()}`;
}

export class TargetCache {
  readonly #entries = new Map<string, { targets: Target[]; until: number }>();
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The targets of a name, in the order to try them; undefined when not known now. */
  get(key: string, now: number): Target[] | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return reordered(e.targets, this.#random);
  }

  /** A lookup's result; a TTL of 0 is not kept (every request asks again, as told). */
  store(key: string, found: Located, now: number): void {
    this.#entries.delete(key);
    if (!(found.ttl > 0)) return;
    if (this.#entries.size >= MAX_CACHED_NAMES) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, { targets: found.targets, until: now + found.ttl * 1000 });
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** The next hops of located targets: an address each, its certificate checked against the URI's host. */
export function targetDests(targets: readonly Target[], q: TargetQuery): Dest[] {
  return targets.slice(0, MAX_TARGET_HOPS).map((t) => ({
    transport: t.transport,
    host: t.address,
    port: t.port,
    // RFC 5922 §4: a TLS server proves the SIP domain it was asked for, not the SRV target.
    serverName: q.host,
  }));
}

/**
 * The targets in a fresh RFC 2782 order: the addresses of one SRV record stay together
 * (in the order DNS gave them), records of one priority are drawn by weight again.
 * Targets not from SRV, or one record per priority, come back as they are.
 */
function reordered(targets: Target[], random: () => number): Target[] {
  let draw = false;
  for (let i = 1; i < targets.length; i++) {
    const a = targets[i - 1]!.srv, b = targets[i]!.srv;
    if (a && b && a !== b && a.priority === b.priority) draw = true;
  }
  if (!draw) return targets;
  const records: Array<{ priority: number; weight: number; targets: Target[] }> = [];
  for (const t of targets) {
    const last = records[records.length - 1];
    if (last && last.targets[0]!.srv === t.srv) last.targets.push(t);
    else records.push({ priority: t.srv!.priority, weight: t.srv!.weight, targets: [t] });
  }
  return weightedOrder(records, random).flatMap((r) => r.targets);
}
