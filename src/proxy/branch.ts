/**
 * The pieces of a response context (RFC 3261 §16.7): its branches, their life, the
 * timers they set, and how the best final answer is chosen. response-context.ts moves
 * them through that life.
 */
import type { SipMessage } from "../sip/index.ts";
import type { ClientTransaction, ServerTransaction, TimerHandle } from "../transaction/index.ts";
import type { ForwardPlan } from "./forward.ts";
import type { Hop } from "./router.ts";
import type { Dest } from "./types.ts";

/** The timers a branch sets. */
export type BranchTimer =
  | { kind: "failover"; branch: Branch }
  | { kind: "timer-c"; branch: Branch }
  | { kind: "cancel-wait"; branch: Branch };

/** Every timer of the proxy core: a branch's, or a parked request's (parked-requests.ts). */
export type TimerPayload = BranchTimer | { kind: "parked"; stxId: number };

/**
 * Where a branch is in its life:
 * * `trying`: sent, nothing heard yet (its failover timer runs while a hop is left);
 * * `proceeding`: a provisional came (an INVITE then waits on Timer C);
 * * `abandoned`: the failover timer gave up on it and the call went on to the next
 *   hop, but its transaction still runs: it is cancelled as soon as it answers (else
 *   the member would ring a second destination), and only a 2xx from it still counts;
 * * `completed`: a final response came, or it failed.
 */
export type BranchPhase = "trying" | "proceeding" | "abandoned" | "completed";

/** A CANCEL is owed as soon as a provisional arrives (§9.1: never before one). */
export type BranchCancel = "none" | "pending" | "sent";

export interface Branch {
  readonly ctx: ResponseContext;
  readonly hop: Hop;
  /** Which of the context's hops this branch tried. */
  readonly hopIndex: number;
  readonly tx: ClientTransaction<Dest>;
  readonly bytes: Uint8Array;
  /** Sent over TCP only because it was too large for the hop's UDP (§18.1.1). */
  readonly movedToTcp: boolean;
  phase: BranchPhase;
  cancel: BranchCancel;
  failoverTimer: TimerHandle | null;
  timerC: TimerHandle | null;
}

export interface ResponseContext {
  readonly stx: ServerTransaction<Dest>;
  /** What the forwarded copies are made from; null once the final answer went up. */
  plan: ForwardPlan | null;
  hops: Hop[];
  next: number;
  readonly branches: Branch[];
  best: { status: number; msg: SipMessage | null } | null;
  finalSent: boolean;
  cancelled: boolean;
  readonly hash: string;
  /** The pair the hops belong to, or null for a plain URI target. */
  readonly pair: string | null;
}

export function done(b: Branch): boolean {
  return b.phase === "completed" || b.phase === "abandoned";
}

function statusClass(s: number): number {
  return Math.floor(s / 100);
}

/** §16.7 step 6: any 6xx, else the lowest class; within a class the first one kept. */
export function better(a: { status: number }, b: { status: number } | null): boolean {
  if (b === null) return true;
  const ca = statusClass(a.status), cb = statusClass(b.status);
  if (cb === 6) return false;
  if (ca === 6) return true;
  return ca < cb;
}
