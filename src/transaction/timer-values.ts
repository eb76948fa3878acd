/**
 * Timer values of RFC 3261 Table 4 as amended by RFC 6026 (Timers L and M).
 * All values are in ms.
 */

/** The base intervals. T1 is the RTT estimate; T2 caps non-INVITE and response retransmission. */
export interface TimerSettings {
  /** RTT estimate, default 500. */
  readonly t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4000. */
  readonly t2: number;
  /** Maximum time a message stays in the network, default 5000. */
  readonly t4: number;
  /** Wait time for response retransmissions after a non-2xx INVITE final (Timer D), default 32000. */
  readonly timerD: number;
}

export const DEFAULT_TIMER_SETTINGS: TimerSettings = {
  t1: 500,
  t2: 4000,
  t4: 5000,
  timerD: 32000,
};

/** Names of the RFC timers; the letter is what operators and logs use. */
export type TimerName =
  | "A" // client INVITE: request retransmit (unreliable only)
  | "B" // client INVITE: transaction timeout in Calling
  | "D" // client INVITE: absorb final retransmissions in Completed
  | "M" // client INVITE: absorb 2xx retransmissions in Accepted (RFC 6026)
  | "E" // client non-INVITE: request retransmit (unreliable only)
  | "F" // client non-INVITE: transaction timeout
  | "K" // client non-INVITE: absorb response retransmissions in Completed
  | "G" // server INVITE: final response retransmit (unreliable only)
  | "H" // server INVITE: wait for ACK
  | "I" // server INVITE: absorb ACK retransmissions in Confirmed
  | "J" // server non-INVITE: absorb request retransmissions in Completed
  | "L"; // server INVITE: absorb INVITE retransmissions in Accepted (RFC 6026)

/** The timers whose firing means the transaction gave up: the TU gets a `timeout`. */
export type TimeoutTimer = "B" | "F" | "H";

export function isTimeout(name: TimerName): name is TimeoutTimer {
  return name === "B" || name === "F" || name === "H";
}

/**
 * Duration of a timer when it is (first) started. For the retransmission timers A, E
 * and G this is the first interval; callers double it afterwards. Zero means the state
 * it guards is left at once: on reliable transports nothing is retransmitted, so the
 * absorbing states D, I, J and K last no time.
 */
export function timerDuration(name: TimerName, reliable: boolean, s: TimerSettings): number {
  switch (name) {
    case "A":
    case "E":
    case "G":
      return reliable ? 0 : s.t1;
    case "B":
    case "F":
    case "H":
    case "L":
    case "M":
      return 64 * s.t1;
    case "D":
      return reliable ? 0 : s.timerD;
    case "I":
    case "K":
      return reliable ? 0 : s.t4;
    case "J":
      return reliable ? 0 : 64 * s.t1;
  }
}
