/**
 * The receive queues of the UDP sockets this process bound, read from each socket
 * (getsockopt SO_MEMINFO) instead of the host-wide /proc/net/udp table. The socket-queue
 * sampler asks 20 times a second; the table is read and split whole each time, and it
 * grows with every UDP socket on the host (a media relay beside vipless has thousands),
 * so the profile of a loaded instance showed its read and parse at about 1 % of the JS
 * thread where one system call per socket does.
 */
export class OwnUdpQueues {
  readonly #byPort = new Map<number, Set<() => number>>();

  /** Registers a socket's reader (bytes queued, or -1); returns its removal. */
  add(port: number, read: () => number): () => void {
    let set = this.#byPort.get(port);
    if (!set) this.#byPort.set(port, set = new Set());
    set.add(read);
    return () => {
      set.delete(read);
      if (set.size === 0 && this.#byPort.get(port) === set) this.#byPort.delete(port);
    };
  }

  /**
   * Bytes queued over the sockets bound to `ports`, or null unless every port is one of
   * ours and each read succeeds (the caller then falls back to /proc/net/udp, which also
   * sees sockets of other processes, e.g. workers sharing a port).
   */
  sum(ports: readonly number[]): number | null {
    let total = 0;
    for (const port of ports) {
      const set = this.#byPort.get(port);
      if (!set) return null;
      for (const read of set) {
        const n = read();
        if (n < 0) return null;
        total += n;
      }
    }
    return total;
  }
}
