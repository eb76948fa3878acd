/**
 * Host names to addresses for outbound messages (the Request-URI of an outbound call,
 * a Route naming a carrier). IP literals pass through synchronously; names are looked
 * up with the system resolver and cached for a minute, so the hot path stays
 * synchronous. Full RFC 3263 NAPTR/SRV selection is not done here (yet).
 */
import { isIpLiteral } from "../net/address.ts";

const TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 5_000;

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
      p = this.#lookup(host).then((address) => {
        this.#cache.set(host, { address, until: this.#now() + TTL_MS });
        return address;
      }, (e: Error) => {
        const error = new Error(`cannot resolve ${host}: ${e.message}`);
        this.#cache.set(host, { address: null, until: this.#now() + NEGATIVE_TTL_MS, error });
        throw error;
      }).finally(() => this.#pending.delete(host));
      this.#pending.set(host, p);
    }
    return p;
  }
}
