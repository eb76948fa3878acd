/**
 * RFC 7339 SIP overload control with its "loss" algorithm, in both roles, as pure state
 * on the monotonic clock:
 *
 * * as a server to our upstream clients (`OverloadSignal`): a client that said it
 *   supports overload control (`oc` in its Via) hears in its Via of every response
 *   `oc=<percent>` with `oc-algo`, `oc-validity` and `oc-seq` (§4): how much of its
 *   traffic to drop while vipless sheds load, `oc=0;oc-validity=0` otherwise (§4.1: the
 *   server MUST add a value; §5.1: 0 when not overloaded);
 * * as a client of the pair members (`MemberThrottles`): our Via offers `oc`, and a
 *   member that answers `oc=N` in it gets N% fewer requests for `oc-validity` ms (N%
 *   of all of them, §5.3), all of it taken from the new out-of-dialog ones, drawn at
 *   random (§7.2); a proxy answers them itself (§5.10: 503).
 *
 * Section numbers are those of RFC 7339.
 */
import { MessageEditor, parseMessage, type SipMessage, SipParseError } from "../sip/index.ts";
import { CallAdmission } from "./call-admission.ts";

/** The one algorithm we speak (§4.2: "loss", which every client MUST support and offer). */
const ALGO = "loss";
/**
 * What our Via says in a forwarded request (§4.1: `oc` with no value; §4.2, §5.1 and the
 * ABNF of §9: `oc-algo` with the quoted list of our algorithms).
 */
export const OC_OFFER = `;oc;oc-algo="${ALGO}"`;
/** oc-validity when a server leaves it out (§4.3: "behave as if it had received oc-validity=500"). */
const DEFAULT_VALIDITY_MS = 500;
/**
 * The share of a member's requests the loss may refuse (§7.2's first category) before
 * any was counted: "cat1 := 80.0 ... simply a reasonable default" (§7.2).
 */
const DEFAULT_CANDIDATE_SHARE = 0.8;
/**
 * The share is counted again over each window (§7.2: "Periodically (every 5-10
 * seconds)"), or sooner after this many requests.
 */
const MIX_WINDOW_MS = 5_000, MIX_WINDOW_REQUESTS = 200;
/**
 * The longest throttle one answer can set: a member that stops answering with oc (it
 * gets only our in-dialog traffic while at 100%) is not starved past this.
 */
const MAX_VALIDITY_MS = 10_000;

// ------------------------------------------------------------ the server role

export interface SignalOptions {
  /** oc-validity we send, ms. */
  validityMs: number;
  /** How often the loss we ask for may move, ms. */
  stepMs: number;
  /**
   * Added to the monotonic clock for oc-seq, so that it grows across restarts (epoch ms
   * at monotonic 0): oc-seq is then a timestamp, as §4.4 suggests.
   */
  seqOffsetMs: number;
}

export const SIGNAL_DEFAULTS: Omit<SignalOptions, "seqOffsetMs"> = {
  validityMs: 1000,
  stepMs: 250,
};
/**
 * Whom vipless lets in while overloaded, and what it asks of its clients: the share of
 * new calls it refuses (call-admission.ts, from whether it is saturated: loop lag or
 * socket-queue delay above `overload.max_delay`, or a socket queue that overflows),
 * which is also the RFC 7339 loss.
 */
export class OverloadSignal {
  readonly #o: SignalOptions;
  readonly #admission: CallAdmission;
  #stepAt = Number.NEGATIVE_INFINITY;
  #seqMs: number;
  #params: string | null = null;

  constructor(options: SignalOptions, random: () => number = Math.random) {
    this.#o = options;
    this.#admission = new CallAdmission(random);
    this.#seqMs = Math.max(0, Math.floor(options.seqOffsetMs));
  }

  /** The loss we ask oc clients for, percent: the share of new calls refused. */
  get loss(): number {
    return this.#admission.loss;
  }

  /**
   * Samples `saturated` when a step is due (at most once per stepMs); between steps,
   * cuts the loss to what the main thread's spare time carries (`busy`).
   */
  observe(now: number, saturated: () => boolean, busy?: () => number | null): void {
    const before = this.#admission.loss;
    const elapsed = now - this.#stepAt;
    if (elapsed < this.#o.stepMs) {
      if (busy === undefined) return;
      this.#admission.spare(now, saturated, busy);
      if (this.#admission.loss !== before) this.#changed(now, before);
    } else {
      // A quiet gap (no request to observe in) counts as steps without saturation.
      const finite = Number.isFinite(elapsed);
      const steps = finite ? Math.floor(elapsed / this.#o.stepMs) : 1;
      this.#stepAt = now;
      this.#admission.step(finite ? elapsed : this.#o.stepMs, steps, saturated());
      this.#changed(now, before);
    }
  }

  /** A new call (an INVITE without To tag) at `now`: true to let it in. */
  admits(now: number): boolean {
    return this.#admission.admits(now);
  }

  #changed(now: number, before: number): void {
    const loss = this.#admission.loss;
    if (loss !== before || loss > 0) {
      // A new value, with a larger oc-seq (§4.4: values generated at t and t+1 MUST
      // have increasing oc-seq). Also a loss that stayed, e.g. at 100: a client updates
      // its stored values and restarts their validity only on a larger oc-seq, and
      // keeps the old expiry on an equal one (§5.4), so without a new oc-seq at every
      // step its reduction would lapse after oc-validity in a steady overload. The end
      // (back to 0) gets one too (§5.7: the server MUST increment oc-seq).
      this.#seqMs = Math.max(this.#seqMs + 1, Math.floor(this.#o.seqOffsetMs + now));
      this.#params = null;
    }
  }

  /**
   * The Via parameters to send a client that supports oc, as of the last observe (the
   * last request): there is always a value (§4.1: the server MUST add one to the `oc`
   * of a client that included it; without one the client takes it that we do not
   * support oc, §6). oc-seq (`1*12DIGIT "." 1*5DIGIT`, §9) is in every one (§4.4).
   */
  params(): string {
    // Asked for every response relayed or answered: kept until the loss or oc-seq moves.
    return this.#params ??= this.#format();
  }

  #format(): string {
    const seq = `${Math.floor(this.#seqMs / 1000)}.${String(this.#seqMs % 1000).padStart(3, "0")}`;
    const loss = this.#admission.loss;
    if (loss > 0) {
      return `oc=${loss};oc-algo="${ALGO}";oc-validity=${this.#o.validityMs};oc-seq=${seq}`;
    }
    // Not overloaded: oc=0 (§5.1: MUST), and oc-validity=0, which ends a reduction
    // (§4.3, §5.7: the server MUST set it to 0 to stop, SHOULD set oc to 0).
    return `oc=0;oc-algo="${ALGO}";oc-validity=0;oc-seq=${seq}`;
  }
}

/** True when a client's Via asks for overload control we can give (`oc`, and "loss" among its algorithms). */
export function wantsOc(params: ReadonlyMap<string, string | null>): boolean {
  if (!params.has("oc")) return false;
  const algos = params.get("oc-algo");
  // A client MUST send oc-algo (§4.2); without it, the mandatory "loss" is implied.
  if (algos === undefined || algos === null) return true;
  return unquote(algos).split(",").some((a) => a.trim().toLowerCase() === ALGO);
}

const OC_PARAMS = new Set(["oc", "oc-algo", "oc-validity", "oc-seq"]);

/**
 * A Via entry's text with its oc parameters replaced by `params` (everything else
 * kept as written). `raw` is an entry the parser accepted, so quotes are balanced.
 */
export function withOcParams(raw: string, params: string): string {
  const parts: string[] = [];
  let start = 0, quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x5c && quoted) i++; // quoted-pair
    else if (c === 0x22) quoted = !quoted;
    else if (c === 0x3b && !quoted) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  const kept = parts.filter((p, k) => {
    if (k === 0) return true;
    const eq = p.indexOf("=");
    return !OC_PARAMS.has((eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase());
  });
  return `${kept.map((p) => p.trim()).join(";")};${params}`;
}

/**
 * A downstream response going up without our Via (RFC 3261 §16.7 step 9); when the
 * client's Via (now the top one) asks for oc, with `oc` in it (§5.2).
 */
export function relayed(res: SipMessage, oc: string | null): Uint8Array {
  const e = new MessageEditor(res).popVia();
  const up = oc === null ? undefined : res.vias[1];
  // The client's entry is replaced whole: popped, and pushed again rewritten.
  if (up !== undefined && wantsOc(up.params)) e.popVia().pushVia(withOcParams(up.raw, oc!));
  return e.toBytes();
}

/** One of our own answers to `req`, with `oc` in the client's Via when it asks for oc. */
export function answered(req: SipMessage, bytes: Uint8Array, oc: string | null): Uint8Array {
  if (oc === null) return bytes;
  let via;
  try {
    via = req.topVia;
  } catch (e) {
    // A malformed Via still gets its answer (a 400, RFC 4475 badinv01.dat), without oc.
    if (e instanceof SipParseError) return bytes;
    throw e;
  }
  if (via === null || !wantsOc(via.params)) return bytes;
  return new MessageEditor(parseMessage(bytes)).popVia().pushVia(withOcParams(via.raw, oc))
    .toBytes();
}

// ------------------------------------------------------------ the client role

/** What a member's answer did to its throttle. */
export type OcChange =
  | { kind: "throttle"; loss: number; validityMs: number }
  | { kind: "stop" }
  | { kind: "invalid"; why: string };

interface Throttle {
  loss: number;
  until: number;
  seq: Seq | null;
}

/**
 * An oc-seq, `1*12DIGIT "." 1*5DIGIT` (§9), as its two parts: the integer part (exact
 * in a double) and the fraction scaled to 5 digits, so that "7.5" and "7.50000" are the
 * same and "7.782" is after "7.78". (One double of 17 digits would not be exact.)
 */
type Seq = readonly [whole: number, fraction: number];

const SEQ = /^(\d{1,12})(?:\.(\d{1,5}))?$/;

function compareSeq(a: Seq, b: Seq): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** The mix of a member's requests, counted while it is throttled (§7.2 `update_mix`). */
interface Mix {
  /** The share of candidates (0-1) in the last window. */
  share: number;
  candidates: number;
  all: number;
  since: number;
}

/** Per-member loss throttles, set by the oc parameters members answer in our Via. */
export class MemberThrottles {
  readonly #random: () => number;
  readonly #byMember = new Map<string, Throttle>();
  /** Kept across throttles: a member's mix changes slowly (one entry per member). */
  readonly #mixOf = new Map<string, Mix>();

  constructor(random: () => number) {
    this.#random = random;
  }

  /** Members whose throttle is set (it may have expired and not been looked at yet). */
  get size(): number {
    return this.#byMember.size;
  }

  /**
   * Our Via in a member's answer carried these parameters; null: no change worth
   * telling (no oc value, the same loss again, or an oc-seq not larger than the one
   * held).
   */
  onAnswer(
    member: { host: string; port: number },
    params: ReadonlyMap<string, string | null>,
    now: number,
  ): OcChange | null {
    const oc = params.get("oc");
    if (oc === undefined || oc === null) return null; // no value: it only supports oc
    const algo = params.get("oc-algo");
    if (algo !== undefined && algo !== null && unquote(algo).trim().toLowerCase() !== ALGO) {
      return { kind: "invalid", why: `oc-algo ${algo} is not the one we offered` };
    }
    // oc-num = 1*DIGIT (§9), in [0, 100] for loss (§7.1: MUST).
    if (!/^\d{1,10}$/.test(oc) || Number(oc) > 100) {
      return { kind: "invalid", why: `oc=${oc} is not a loss percentage 0-100` };
    }
    const validityText = params.get("oc-validity");
    let validityMs = DEFAULT_VALIDITY_MS;
    // `"oc-validity" [EQUAL delta-ms]` (§9): without a value, as without the parameter.
    if (validityText !== undefined && validityText !== null) {
      if (!/^\d{1,10}$/.test(validityText)) {
        return { kind: "invalid", why: `oc-validity=${validityText} is not milliseconds` };
      }
      validityMs = Math.min(MAX_VALIDITY_MS, Number(validityText));
    }
    const seqText = params.get("oc-seq");
    let seq: Seq | null = null;
    if (seqText !== undefined) {
      // The fraction is required by §9; a bare integer is taken as one with ".0".
      const m = seqText === null ? null : SEQ.exec(seqText);
      if (m === null) {
        return { kind: "invalid", why: `oc-seq=${seqText} is not a sequence number` };
      }
      seq = [Number(m[1]), Number((m[2] ?? "").padEnd(5, "0"))];
    }
    const key = keyOf(member);
    let held = this.#byMember.get(key);
    if (held !== undefined && now >= held.until) {
      // §5.4: stored values MUST be reset once their validity has expired; the next
      // oc-seq is then accepted whatever it is (so a member that restarted its
      // sequence, or whose oc-seq overflowed, §4.4, is heard again).
      this.#byMember.delete(key);
      held = undefined;
    }
    // §5.4: an oc-seq equal to the stored one does not update the stored values (nor
    // restart their validity); only a larger one does. A smaller one is an answer
    // overtaken by a newer one (reordered on the way, §4.4): ignored as well. Without
    // an oc-seq (a server MUST send one, §4.4) every answer counts as new.
    if (held?.seq != null && seq !== null && compareSeq(seq, held.seq) <= 0) return null;
    const loss = Number(oc);
    // §5.7: oc-validity=0 stops it (and oc is then disregarded); a loss of 0 asks for
    // no reduction either (§7.1).
    if (loss === 0 || validityMs === 0) {
      if (held === undefined) return null;
      this.#byMember.delete(key);
      return { kind: "stop" };
    }
    // §5.4: the new values, their validity restarted.
    this.#byMember.set(key, { loss, until: now + validityMs, seq });
    if (held?.loss === loss) return null;
    return { kind: "throttle", loss, validityMs };
  }

  /**
   * True: send this request to the member; false: refuse it. The throttle is per
   * member, that is per IP address and port (§5.4), and only toward it (§4.1).
   * `candidate`: the loss may refuse this one (`throttleable`); the others are counted
   * only, and always go. `oc=N` asks for N% fewer of all requests, in-dialog ones
   * included (§5.3), and a client MUST NOT send more than that allows (§5.5): so, as in
   * §7.2, N is taken from the candidates alone, `N / share` % of them drawn at random
   * (share: the candidates' part of the requests to the member). Unlike §7.2 the
   * others are never refused, even when the candidates do not suffice (N above the
   * share): a BYE or ACK refused costs more than it saves (local policy, §5.10.1).
   */
  admits(member: { host: string; port: number }, now: number, candidate: boolean): boolean {
    if (this.#byMember.size === 0) return true;
    const key = keyOf(member);
    const t = this.#byMember.get(key);
    if (t === undefined) return true;
    if (now >= t.until) {
      this.#byMember.delete(key);
      return true;
    }
    let mix = this.#mixOf.get(key);
    if (mix === undefined) {
      mix = { share: DEFAULT_CANDIDATE_SHARE, candidates: 0, all: 0, since: now };
      this.#mixOf.set(key, mix);
    }
    mix.all++;
    if (candidate) mix.candidates++;
    if (mix.all >= MIX_WINDOW_REQUESTS || now - mix.since >= MIX_WINDOW_MS) {
      mix.share = mix.candidates / mix.all;
      mix.candidates = mix.all = 0;
      mix.since = now;
    }
    if (!candidate) return true;
    // random * 100 >= loss / share, without dividing by a share of 0.
    return this.#random() * 100 * mix.share >= t.loss;
  }
}

/**
 * Whether the loss algorithm may refuse this request (the first category of §7.2): a
 * new out-of-dialog request, not ACK or CANCEL (they belong to an INVITE already let
 * through), and not an emergency or priority call: local policy by message type, by
 * Resource-Priority (RFC 4412) and for emergency calls, which §5.10.1 says a client
 * SHOULD honor (also RFC 6357 §5). A priority call is one with a Resource-Priority of
 * the esnet (RFC 7135), ets or wps namespaces. (A `urn:service:sos` Request-URI never
 * gets here: vipless answers a urn 416.)
 */
export function throttleable(req: SipMessage): boolean {
  const m = req.method;
  if (m === "ACK" || m === "CANCEL" || m === "BYE" || req.to?.tag != null) return false;
  const rp = req.header("Resource-Priority");
  return rp === null || !/(?:^|[\s,])(?:esnet|ets|wps)\./i.test(rp);
}

function keyOf(m: { host: string; port: number }): string {
  return `${m.host}|${m.port}`;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}
