// The types of the pair registry's public surface.

import type { Result } from "../result.ts";
import type { ProbeDest } from "./probe-branches.ts";
import type { HaEventListener, HaMemberSpec, Role } from "./types.ts";

export interface PairRegistryOptions {
  /** Monotonic ms at construction: the first probes are spread from here. */
  now: number;
  /** Source of jitter in [0, 1); inject a seeded one in tests. */
  random?: () => number;
  /** Registered before anything can happen, so no event is missed. */
  onEvent?: HaEventListener;
  /** Starts every probe's Via branch: how the proxy tells probe answers from others. */
  branchPrefix?: string;
}

/** Which pair member a host and port belong to. */
export interface MemberLocation {
  pair: string;
  role: Role;
  member: HaMemberSpec;
}

export interface RequestOrigin extends MemberLocation {
  /** True when this request made its sender the active member. */
  switched: boolean;
}

/** Why an operator action (switchover, maintenance) was refused: one shape for both. */
export type OperatorError =
  | { code: "unknown-pair"; pair: string; message: string }
  | { code: "other-down"; pair: string; member: string; message: string };

export type SwitchoverError = OperatorError;

/** The refusal of an operator action on a pair that does not exist. */
export function unknownPair(pair: string): { ok: false; error: OperatorError } {
  return { ok: false, error: { code: "unknown-pair", pair, message: `no pair named "${pair}"` } };
}

export type SwitchoverResult = Result<{
  pair: string;
  from: string | null;
  to: string;
  /** False when the requested member was already active. */
  changed: boolean;
}, SwitchoverError>;

export interface SwitchoverOptions {
  /** Switch even when the target is known down. */
  force?: boolean;
  /** Target member; by default the one that is not active. */
  to?: Role;
}

/** An OPTIONS probe to send now. */
export interface DueProbe extends MemberLocation {
  /** The top Via branch of the probe; its answer is handed back with it. */
  branch: string;
  dest: ProbeDest;
  /** Unanswered at this time, the probe counts as a miss. */
  deadline: number;
}

/** Where a probe answer came from. */
export interface ProbeAnswerSource {
  host: string;
  port: number;
}
