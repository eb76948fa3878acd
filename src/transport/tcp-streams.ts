/**
 * The book of open TCP connections and the limits on them: a cap in total and per
 * source address, a deadline for a message to arrive whole, and an idle timeout. It
 * takes time as arguments and does no I/O; the transport closes what it names.
 */

/** Limits on the TCP connections of one transport. */
export interface TcpLimits {
  /** Open connections at most (both directions); a new inbound one beyond is closed at once. */
  maxConnections: number;
  /** Inbound connections at most from one IP address (0: no cap). Exempt hosts are not capped. */
  maxConnectionsPerSource: number;
  /**
   * An inbound connection delivers its first whole message within this time after it
   * opens, and every message, once begun, arrives whole within this time (slow senders).
   */
  messageTimeoutMs: number;
  /** A connection with no traffic at all (keep-alive pings count) this long is closed. */
  idleTimeoutMs: number;
  /** Bytes at most of a header section, start line through the empty line. */
  maxHeaderBytes: number;
}

/** Why a connection was refused or closed by a limit. */
export type TcpRefusal =
  | "connection-limit"
  | "source-connection-limit"
  | "message-timeout"
  | "idle-timeout"
  /** The source is blocked by per-source protection (protect.*). */
  | "source-blocked";

export const TCP_REFUSALS: readonly TcpRefusal[] = [
  "connection-limit",
  "source-connection-limit",
  "message-timeout",
  "idle-timeout",
  "source-blocked",
];

/** Alias keys one connection may hold (a client has a sent-by or two, not more). */
const MAX_ALIASES = 4;

/** What the book keeps of one connection. */
export interface StreamEntry {
  /** Remote host|port: the connection reused to send there. */
  readonly key: string;
  /** The remote address as counted per source. */
  readonly source: string;
  readonly outbound: boolean;
  /** Exempt from the per-source cap (a pair member's address). */
  readonly exempt: boolean;
  readonly openedAt: number;
  lastActive: number;
  /** Since when part of a message waits for the rest, or -1. */
  partialSince: number;
  /** A whole message has arrived on it. */
  delivered: boolean;
  /** More keys it is used for (RFC 5923 alias: the sent-by its client proved its own). */
  aliases?: string[];
}

export class StreamTable<E extends StreamEntry> {
  /** Every open connection: what is counted, and what the sweep walks. */
  readonly #all = new Set<E>();
  /**
   * The connection to use for sending to a host|port. Two connections can share a key
   * (the same peer port reaching two of our listeners): the newer one is used, and
   * both stay in #all, so the count stays right.
   */
  readonly #byKey = new Map<string, E>();
  /** Inbound connections per source address, exempt ones left out. */
  readonly #perSource = new Map<string, number>();
  /** Inbound connections that have not delivered a whole message yet, oldest first. */
  readonly #waitingFirst = new Set<E>();

  constructor(public limits: TcpLimits) {}

  get size(): number {
    return this.#all.size;
  }

  /** Why a new inbound connection from `source` is refused, or null to accept it. */
  refusal(source: string, exempt: boolean): TcpRefusal | null {
    // Per source first: a source over its cap must not evict anyone (see evictable).
    const perSource = this.limits.maxConnectionsPerSource;
    if (!exempt && perSource > 0 && (this.#perSource.get(source) ?? 0) >= perSource) {
      return "source-connection-limit";
    }
    if (this.#all.size >= this.limits.maxConnections) return "connection-limit";
    return null;
  }

  /**
   * The connection to close so that a new one fits under the total cap: the oldest
   * inbound one that has not delivered a message yet (a flood of idle connections from
   * many sources must not lock callers out), or none when every connection is in use.
   */
  evictable(): E | undefined {
    return this.#waitingFirst.values().next().value;
  }

  /** A whole message arrived on `e`. */
  delivered(e: E): void {
    e.delivered = true;
    this.#waitingFirst.delete(e);
  }

  add(e: E): void {
    this.#all.add(e);
    // A member's connection is never evicted.
    if (!e.outbound && !e.delivered && !e.exempt) this.#waitingFirst.add(e);
    this.#byKey.set(e.key, e);
    if (!e.outbound && !e.exempt) {
      this.#perSource.set(e.source, (this.#perSource.get(e.source) ?? 0) + 1);
    }
  }

  /** Forgets a connection; safe to call more than once. */
  remove(e: E): void {
    if (!this.#all.delete(e)) return;
    this.#waitingFirst.delete(e);
    for (const key of [e.key, ...(e.aliases ?? [])]) {
      if (this.#byKey.get(key) === e) this.#byKey.delete(key);
    }
    if (!e.outbound && !e.exempt) {
      const n = (this.#perSource.get(e.source) ?? 1) - 1;
      if (n > 0) this.#perSource.set(e.source, n);
      else this.#perSource.delete(e.source);
    }
  }

  /**
   * Sends to `key` go over `e` from now on, while it is open (RFC 5923 alias). A few
   * keys per connection at most, so that a client cannot grow the book without end.
   */
  alias(e: E, key: string): void {
    if (!this.#all.has(e) || this.#byKey.get(key) === e) return;
    if (e.key === key || (e.aliases?.length ?? 0) >= MAX_ALIASES) return;
    (e.aliases ??= []).push(key);
    this.#byKey.set(key, e);
  }

  get(key: string): E | undefined {
    return this.#byKey.get(key);
  }

  values(): IterableIterator<E> {
    return this.#all.values();
  }

  /** The connections past a deadline at `now`, each with the reason. */
  expired(now: number): Array<[E, TcpRefusal]> {
    const { messageTimeoutMs, idleTimeoutMs } = this.limits;
    const out: Array<[E, TcpRefusal]> = [];
    for (const e of this.#all) {
      const waitingFirst = !e.outbound && !e.delivered && now - e.openedAt > messageTimeoutMs;
      const slowMessage = e.partialSince >= 0 && now - e.partialSince > messageTimeoutMs;
      if (waitingFirst || slowMessage) out.push([e, "message-timeout"]);
      else if (now - e.lastActive > idleTimeoutMs) out.push([e, "idle-timeout"]);
    }
    return out;
  }

  /** How often the deadlines need checking: a quarter of the shortest, within 20 ms-5 s. */
  sweepEveryMs(): number {
    const shortest = Math.min(this.limits.messageTimeoutMs, this.limits.idleTimeoutMs);
    return Math.max(20, Math.min(5000, Math.floor(shortest / 4)));
  }
}
