/**
 * Keeps the pair registry told where the members configured by DNS name are: a request
 * or probe answer carries the sender's IP, never its name, so a member named
 * `sip:pbx-a.example.com` is known by the address its name resolves to. Looked up with
 * the system resolver (cached a minute, as the transport does for sending) each time
 * the member is probed; the registry keeps the last address when a lookup fails.
 */
import { isIpLiteral } from "../net/address.ts";
import { HostResolver } from "../transport/resolver.ts";

export class MemberAddresses {
  readonly #resolver: HostResolver;
  readonly #learn: (host: string, address: string) => void;

  constructor(
    lookup: (host: string) => Promise<string>,
    now: () => number,
    learn: (host: string, address: string) => void,
  ) {
    this.#resolver = new HostResolver(lookup, now);
    this.#learn = learn;
  }

  /** Resolves a member host (a no-op for an IP literal); the address arrives at `learn`. */
  refresh(host: string): void {
    if (isIpLiteral(host)) return;
    const address = this.#resolver.resolve(host);
    if (typeof address === "string") return this.#learn(host, address);
    // A failed lookup is the transport's to report, when it sends there.
    address.then((a) => this.#learn(host, a), () => {});
  }
}
