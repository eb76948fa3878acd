// Which pair member listens where. Rebuilt from scratch on every (re)configuration;
// the registry asks it who sent a request and who a failed forward went to.

import { addressKey, normaliseHost } from "./address.ts";
import type { HaMemberSpec } from "./types.ts";

export class MemberIndex<T extends { spec: HaMemberSpec }> {
  readonly #byAddress = new Map<string, T>();
  readonly #byHost = new Map<string, T[]>();

  constructor(members: Iterable<T>) {
    for (const m of members) {
      // The config refuses two members on one address; should one slip through, the
      // first keeps it rather than a later one silently taking its traffic.
      const address = addressKey(m.spec.host, m.spec.port);
      if (!this.#byAddress.has(address)) this.#byAddress.set(address, m);
      const host = normaliseHost(m.spec.host);
      this.#byHost.set(host, [...(this.#byHost.get(host) ?? []), m]);
    }
  }

  /** The member listening at exactly this host and port (port defaults to 5060). */
  at(host: string, port?: number | null): T | null {
    return this.#byAddress.get(addressKey(host, port)) ?? null;
  }

  /**
   * The member a request came from. Exact host and port first; otherwise the only
   * member on that host, because requests over TCP/TLS come from ephemeral ports.
   */
  from(host: string, port?: number | null): T | null {
    const exact = this.at(host, port);
    if (exact) return exact;
    const onHost = this.#byHost.get(normaliseHost(host));
    return onHost && onHost.length === 1 ? onHost[0] : null;
  }
}
