/** Knows which URIs name this proxy (RFC 3261 §16.4: Route entries and Request-URIs "of ours"). */
import { normalizeHost, type SipMessage, type SipUri } from "../sip/index.ts";

export class SelfAddresses {
  readonly #keys = new Set<string>();
  readonly #hosts = new Set<string>();

  constructor(
    advertiseHost: string,
    advertisePort: number | null,
    local: ReadonlyArray<{ host: string; port: number }>,
  ) {
    this.#hosts.add(normalizeHost(advertiseHost));
    this.#keys.add(`${normalizeHost(advertiseHost)}|${advertisePort ?? 5060}`);
    if (advertisePort === null) this.#keys.add(`${normalizeHost(advertiseHost)}|5061`);
    for (const l of local) {
      if (l.host === "0.0.0.0" || l.host === "::") continue;
      this.#keys.add(`${normalizeHost(l.host)}|${l.port}`);
      this.#hosts.add(normalizeHost(l.host));
    }
  }

  /** True when a sip/sips URI names this proxy by host and port. */
  isSelf(uri: SipUri): boolean {
    if (uri.scheme !== "sip" && uri.scheme !== "sips") return false;
    const port = uri.port ?? (uri.scheme === "sips" ? 5061 : 5060);
    return this.#keys.has(`${normalizeHost(uri.host)}|${port}`);
  }

  /** True for a request to vipless itself: no user part, a URI of ours, no Route. */
  isAddressedToUs(req: SipMessage): boolean {
    const uri = req.uri;
    return uri.user === null && this.isSelf(uri) && req.routes.length === 0;
  }

  /** True when a Via sent-by is ours (for loop detection). */
  isSelfSentBy(host: string, port: number | null): boolean {
    return this.#keys.has(`${normalizeHost(host)}|${port ?? 5060}`);
  }
}
