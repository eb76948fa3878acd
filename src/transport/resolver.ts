/**
 * Host names to addresses for outbound messages (the Request-URI of an outbound call,
 * a Route naming a carrier). IP literals pass through synchronously; names are looked
 * up with the system resolver and cached for a minute, so the hot path stays
 * synchronous. Full RFC 3263 NAPTR/SRV selection is not done here (yet).
 *
 * Names can come from message content (a Via's sent-by), so both the cache and the
 * lookups in flight are bounded: a flood of made-up names neither grows memory nor
 * queues up behind the system resolver's few threads (a name over the bound fails at
 * once, as an unresolvable one does).
 */
import { isIpLiteral } from "../net/address.ts";

const TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 5_000;
/** Names cached at most; past it the oldest entry goes. */
export const MAX_CACHED_NAMES = 10_000;
/** Lookups in flight at most. */
export const MAX_PENDING_LOOKUPS = 32;

export class HostResolver {
  readonly #cache = new Map<string, { address: string | null; until: number; error?: Error }>();
  readonly #pending = new Map<string, Promise<string>>();
  readonly #lookup: (host: string) => Promise<string>;
  readonly #now: () => number;

  constructor(lookup: (host: string) => Promise<string>, now: () => number) {
    this.#lookup = lookup;
    this.#now = now;
  }

  /** An address at once when known, else a promise of one (rejected when unresolvable). */
  resolve(host: string): string | Promise<string> {
    if (isIpLiteral(host)) return host;
    const hit = this.#cache.get(host);
    if (hit && hit.until > this.#now()) {
      if (hit.address !== null) return hit.address;
      return Promise.reject(hit.error ?? new Error(`cannot resolve ${host}`));
    }
    let p = this.#pending.get(host);
    if (!p) {
      if (this.#pending.size >= MAX_PENDING_LOOKUPS) {
        return Promise.reject(new Error(`cannot resolve ${host}: too many lookups in progress`));
      }
      p = this.#lookup(host).then((address) => {
        this.#remember(host, { address, until: this.#now() + TTL_MS });
        return address;
      }, (e: Error) => {
        const error = new Error(`cannot resolve ${host}: ${e.message}`);
        this.#remember(host, { address: null, until: this.#now() + NEGATIVE_TTL_MS, error });
        throw error;
      }).finally(() => this.#pending.delete(host));
      this.#pending.set(host, p);
    }
    return p;
  }

  /** Names cached now (bounded by MAX_CACHED_NAMES). */
  get cached(): number {
    return this.#cache.size;
  }

  #remember(host: string, entry: { address: string | null; until: number; error?: Error }) {
    this.#cache.delete(host); // re-inserted last: the oldest stays first
    while (this.#cache.size >= MAX_CACHED_NAMES) {
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
    this.#cache.set(host, entry);
  }
}
