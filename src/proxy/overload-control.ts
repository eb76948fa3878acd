/**
 * RFC 7339 SIP overload control with its "loss" algorithm, in both roles, as pure state
 * on the monotonic clock:
 *
 * * as a server to our upstream clients (`OverloadSignal`): while vipless sheds load, a
 *   client that said it supports overload control (`oc` in its Via) is told how much of
 *   its traffic to drop (`oc=<percent>` with `oc-algo`, `oc-validity`, `oc-seq` in its
 *   Via of our responses), and `oc=0` once vipless has recovered;
 * * as a client of the pair members (`MemberThrottles`): our Via offers `oc`, and a
 *   member that answers `oc=N` in it gets N% fewer new out-of-dialog requests for
 *   `oc-validity` ms, the rejected ones drawn at random (§5.10.2 of the RFC: a
 *   proxy answers them 503 itself).
 */
import { MessageEditor, parseMessage, type SipMessage } from "../sip/index.ts";

/** The one algorithm we speak (RFC 7339 §6: "loss", which every implementation must). */
const ALGO = "loss";
/** What our Via says in a forwarded request (§5.1: `oc` without a value, our algorithms). */
export const OC_OFFER = `;oc;oc-algo="${ALGO}"`;
/** oc-validity when a server leaves it out (RFC 7339 §5.2). */
const DEFAULT_VALIDITY_MS = 500;
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
  /** Added to the monotonic clock for oc-seq, so that it grows across restarts (epoch ms). */
  seqOffsetMs: number;
}

export const SIGNAL_DEFAULTS: Omit<SignalOptions, "seqOffsetMs"> = {
  validityMs: 1000,
  stepMs: 250,
};
/** Percentage points added while saturated, taken back while not (additive both ways). */
const STEP_UP = 10, STEP_DOWN = 10;
/** After recovery, oc=0 is said this long, so that every client hears the end. */
const RECOVERED_NOTICE_MS = 5_000;

/**
 * The loss vipless asks its clients for, and the share of new INVITEs it refuses itself
 * (proxy-core.ts), from whether it is saturated (loop lag or socket-queue delay above
 * `overload.max_delay`, or a socket queue that overflows). Up by STEP_UP points each
 * step it is saturated, down by STEP_DOWN each step it is not: a control loop that
 * finds the share vipless can carry. Measured at 2.5x the top rate (bench/results.md):
 * refusing every new INVITE while saturated completed 48 % of the offered calls, this
 * share 70-74 %, every accepted call completing.
 */
export class OverloadSignal {
  readonly #o: SignalOptions;
  #loss = 0;
  #stepAt = Number.NEGATIVE_INFINITY;
  #lastLossAt = Number.NEGATIVE_INFINITY;
  #observedAt = Number.NEGATIVE_INFINITY;
  #seqMs = 0;

  constructor(options: SignalOptions) {
    this.#o = options;
  }

  get loss(): number {
    return this.#loss;
  }

  /** Samples `saturated` when a step is due (at most once per stepMs). */
  observe(now: number, saturated: () => boolean): void {
    this.#observedAt = now;
    const elapsed = now - this.#stepAt;
    if (elapsed < this.#o.stepMs) return;
    // A quiet gap (no request to observe in) counts as steps without saturation.
    const steps = Number.isFinite(elapsed) ? Math.floor(elapsed / this.#o.stepMs) : 1;
    this.#stepAt = now;
    const before = this.#loss;
    if (saturated()) this.#loss = Math.min(100, this.#loss + STEP_UP);
    else this.#loss = Math.max(0, this.#loss - STEP_DOWN * steps);
    if (this.#loss !== before) {
      // oc-seq names this change; it only grows (clients ignore an older one, §5.3).
      this.#seqMs = Math.max(this.#seqMs + 1, Math.floor(this.#o.seqOffsetMs + now));
    }
    if (this.#loss > 0 || before > 0) this.#lastLossAt = now;
  }

  /**
   * The Via parameters to send a client that supports oc, as of the last observe (the
   * last request), or null: nothing to say.
   */
  params(): string | null {
    const seq = `${Math.floor(this.#seqMs / 1000)}.${String(this.#seqMs % 1000).padStart(3, "0")}`;
    if (this.#loss > 0) {
      return `oc=${this.#loss};oc-algo="${ALGO}";oc-validity=${this.#o.validityMs};oc-seq=${seq}`;
    }
    // (Also null before any loss: the difference is NaN then.)
    if (!(this.#observedAt - this.#lastLossAt <= RECOVERED_NOTICE_MS)) return null;
    // §5.2: oc-validity=0 (and a loss of 0) ends the reduction at the client.
    return `oc=0;oc-algo="${ALGO}";oc-validity=0;oc-seq=${seq}`;
  }
}

/** True when a client's Via asks for overload control we can give (`oc`, and "loss" among its algorithms). */
export function wantsOc(params: ReadonlyMap<string, string | null>): boolean {
  if (!params.has("oc")) return false;
  const algos = params.get("oc-algo");
  // Without oc-algo the client names no algorithm: the mandatory one is implied.
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
 * A downstream response going up without our Via (§16.7 step 9); when `oc` has
 * something to say and the client's Via (now the top one) asks for oc, with it.
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
  const via = req.topVia;
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
  seq: number | null;
}

/** Per-member loss throttles, set by the oc parameters members answer in our Via. */
export class MemberThrottles {
  readonly #random: () => number;
  readonly #byMember = new Map<string, Throttle>();

  constructor(random: () => number) {
    this.#random = random;
  }

  /** Members whose throttle is set (it may have expired and not been looked at yet). */
  get size(): number {
    return this.#byMember.size;
  }

  /**
   * Our Via in a member's answer carried these parameters; null: no change worth
   * telling (no oc value, the same loss again, or an older oc-seq).
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
    if (!/^\d{1,3}$/.test(oc) || Number(oc) > 100) {
      return { kind: "invalid", why: `oc=${oc} is not a loss percentage 0-100` };
    }
    const validityText = params.get("oc-validity");
    let validityMs = DEFAULT_VALIDITY_MS;
    if (validityText !== undefined) {
      if (validityText === null || !/^\d{1,10}$/.test(validityText)) {
        return { kind: "invalid", why: `oc-validity=${validityText} is not milliseconds` };
      }
      validityMs = Math.min(MAX_VALIDITY_MS, Number(validityText));
    }
    const seqText = params.get("oc-seq");
    let seq: number | null = null;
    if (seqText !== undefined) {
      if (seqText === null || !/^\d{1,12}(\.\d{1,5})?$/.test(seqText)) {
        return { kind: "invalid", why: `oc-seq=${seqText} is not a sequence number` };
      }
      seq = Number(seqText);
    }
    const key = keyOf(member);
    const held = this.#byMember.get(key);
    // §5.3: an answer overtaken by a newer one (reordered on the way) is ignored.
    if (held !== undefined && held.seq !== null && seq !== null && seq < held.seq) return null;
    const loss = Number(oc);
    if (loss === 0 || validityMs === 0) {
      if (held === undefined) return null;
      this.#byMember.delete(key);
      return { kind: "stop" };
    }
    this.#byMember.set(key, { loss, until: now + validityMs, seq });
    if (held !== undefined && held.loss === loss && now < held.until) return null;
    return { kind: "throttle", loss, validityMs };
  }

  /** True: send this new request to the member; false: refuse it (a loss draw). */
  admits(member: { host: string; port: number }, now: number): boolean {
    if (this.#byMember.size === 0) return true;
    const key = keyOf(member);
    const t = this.#byMember.get(key);
    if (t === undefined) return true;
    if (now >= t.until) {
      this.#byMember.delete(key);
      return true;
    }
    return this.#random() * 100 >= t.loss;
  }
}

/**
 * Whether the loss algorithm may refuse this request: a new out-of-dialog request,
 * not ACK or CANCEL (they belong to an INVITE already let through), and not an
 * emergency or priority call (RFC 7339 §5.10.1, RFC 6357 §5): one with a
 * Resource-Priority (RFC 4412) of the esnet (RFC 7135), ets or wps namespaces. (A
 * `urn:service:sos` Request-URI never gets here: vipless answers a urn 416.)
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
