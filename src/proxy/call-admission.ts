/**
 * Which new calls vipless lets in while it is overloaded: its early 503s (proxy-core.ts)
 * refuse a share of the new INVITEs, and the RFC 7339 loss it asks of its clients
 * (overload-control.ts) is that share. Pure state on the monotonic clock.
 *
 * The share is a control loop on vipless's own delay (service/saturation.ts): up
 * STEP_UP points in every step (250 ms) in which vipless is saturated, down STEP_DOWN
 * points in every other. A change shows in those delays only once the calls let in
 * before it have sent their ACKs and BYEs and the backlog has been read, a second or
 * two at 2.5 x the top rate; meanwhile the loop went on, and the share swung between
 * 15 % and 100 % with a period of about 5 s (bench/results.md, 2026-12-04). At 100 %
 * every new call was refused while vipless had room for most of them, and an overload
 * that ended then left the calls after it refused while the share came down.
 *
 * So the share is bounded by what vipless is known to carry: the highest rate of new
 * calls it let in lately for a second without saturation (SUSTAINED_STEPS steps in a
 * row: the ACKs and BYEs of the calls let in come within it; a lower bound of its
 * capacity, fading SAFE_DECAY per step). No new call is refused while fewer than SAFE_SHARE of
 * that rate are offered (over the last OFFERED_TAU_MS), and above it only as many as
 * bring the calls let in down to that: the share refused is at most
 * 1 - SAFE_SHARE * safe / offered. When vipless stays saturated with the bound holding
 * the share down, the bound was too high: it fades faster (AT_BOUND_DECAY per step).
 */

/** Percentage points added per saturated step, and taken back per other one. */
const STEP_UP = 10, STEP_DOWN = 10;
/**
 * The main thread's busy share the loss aims at when it has spare time (#spare), and
 * how often that is judged (service/thread-busy.ts samples every 50 ms).
 */
const SPARE_TARGET = 0.85, SPARE_STEP_MS = 50;
/** The time constant of the offered rate, ms: a few of Bun's reading gulps. */
const OFFERED_TAU_MS = 100;
/** The share of the rate known to be carried that is always let in. */
const SAFE_SHARE = 0.9;
/** What the known rate keeps per step (it halves in about 17 s), and per step saturated at the bound. */
const SAFE_DECAY = 0.99, AT_BOUND_DECAY = 0.97;
/**
 * Steps in a row without saturation over which a rate counts as carried (its lowest).
 * One step is not enough: after a spell of refusing most new calls, vipless lets in
 * far more than it carries for a few steps before the BYEs of those calls come back.
 */
const SUSTAINED_STEPS = 4;

export class CallAdmission {
  readonly #random: () => number;
  /** The share the control loop asks for, percent, before the bound. */
  #loss = 0;
  /** The share refused, percent: #loss within the bound, as of the last step. */
  #refusing = 0;
  /** New calls offered per second, decayed with OFFERED_TAU_MS; at #offeredAt. */
  #offered = 0;
  #offeredAt = 0;
  /** New calls per second known to be carried without saturation (0: none measured). */
  #safe = 0;
  /** New calls offered and let in since the last step. */
  #offeredInStep = 0;
  #acceptedInStep = 0;
  /** The rates let in of the last steps without saturation, in a row (at most SUSTAINED_STEPS). */
  readonly #clearRun: number[] = [];
  #spareAt = Number.NEGATIVE_INFINITY;

  constructor(random: () => number) {
    this.#random = random;
  }

  /** The share of new calls refused, percent (the RFC 7339 loss we ask for). */
  get loss(): number {
    return this.#refusing;
  }

  /** New calls per second known to be carried without saturation lately (0: none). */
  get safeRate(): number {
    return this.#safe;
  }

  /** One new call at `now`: true to let it in, false to refuse it. */
  admits(now: number): boolean {
    const dt = Math.max(0, now - this.#offeredAt);
    this.#offered = this.#offered * Math.exp(-dt / OFFERED_TAU_MS) + 1000 / OFFERED_TAU_MS;
    this.#offeredAt = now;
    this.#offeredInStep++;
    // The bound with the offered rate of this moment, so that a fall of it (the end of
    // an overload) lets the calls in from the next moment on, not the next step.
    if (this.#loss > 0 && this.#random() * 100 < this.#bounded(this.#offered)) return false;
    this.#acceptedInStep++;
    return true;
  }

  /**
   * A step of `elapsedMs` ended, `steps` steps long (a quiet gap counts as steps
   * without saturation), saturated or not.
   */
  step(elapsedMs: number, steps: number, saturated: boolean): void {
    const seconds = Math.max(1, elapsedMs) / 1000;
    const offered = this.#offeredInStep / seconds;
    const accepted = this.#acceptedInStep / seconds;
    this.#offeredInStep = this.#acceptedInStep = 0;
    if (saturated) {
      this.#clearRun.length = 0;
      // A step without new calls says nothing of the bound.
      const bound = offered > 0 ? this.#bound(offered) : 100;
      if (this.#loss >= bound) this.#safe *= AT_BOUND_DECAY;
      // Not above the bound by more than a step (no wind-up while it holds).
      this.#loss = Math.min(100, this.#loss + STEP_UP, Math.max(bound, 0) + STEP_UP);
    } else {
      const run = this.#clearRun;
      run.push(accepted);
      if (run.length > SUSTAINED_STEPS) run.shift();
      this.#safe *= SAFE_DECAY ** steps;
      if (run.length === SUSTAINED_STEPS) this.#safe = Math.max(this.#safe, Math.min(...run));
      this.#loss = Math.max(0, this.#loss - STEP_DOWN * steps);
    }
    this.#refusing = Math.round(this.#bounded(offered));
  }

  /** The highest share (percent) the bound lets be refused at `offered` calls/s. */
  #bound(offered: number): number {
    if (this.#safe === 0) return 100;
    return 100 * (1 - (SAFE_SHARE * this.#safe) / Math.max(offered, 1));
  }

  #bounded(offered: number): number {
    return Math.max(0, Math.min(this.#loss, this.#bound(offered)));
  }

  /**
   * While the loss refuses calls the main thread has time for, cuts it at once instead
   * of STEP_DOWN points a step: the thread was busy `busy` of the last moments with the
   * accepted share (1 - loss) of the traffic, so it carries SPARE_TARGET of busy with
   * (1 - loss) * SPARE_TARGET / busy. Only when it is not saturated and idles more than
   * 1 - SPARE_TARGET of the time: under overload the thread is busy all of the time,
   * and this rule never fires. At most once per SPARE_STEP_MS, the busy sample's period.
   */
  spare(now: number, saturated: () => boolean, busy: () => number | null): void {
    if (this.#refusing === 0 || now - this.#spareAt < SPARE_STEP_MS) return;
    this.#spareAt = now;
    const b = busy();
    if (b === null || b >= SPARE_TARGET || saturated()) return;
    const kept = 1 - this.#refusing / 100;
    const carried = Math.min(1, (kept * SPARE_TARGET) / Math.max(b, 0.01));
    const loss = Math.max(0, Math.floor(100 * (1 - carried)));
    if (loss >= this.#refusing) return;
    this.#loss = this.#refusing = loss;
  }
}
