import { describeError } from '../shared/errors.js';
import type { RecordedOutcome } from './claims.js';

/** A try that did not settle its item. */
export type FailingOutcome = Extract<RecordedOutcome, { result: 'failing' }>;

/**
 * Thrown by a handler to ask for another try: after a specific wait (e.g. Slack's Retry-After), or
 * after the usual backoff when `afterMs` is undefined.
 */
export class RetryLater extends Error {
  /**
   * `expected`: a wait by design (pacing, a server asking to slow down), not a failure: logged at
   * debug, not as a warning. `failed`: a failure all the same, counted as one (the wait named
   * stands in for the backoff, as a mail server's outage hold does).
   */
  constructor(message: string, readonly afterMs: number | undefined, readonly expected = false, readonly failed = false) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** The wait a handler named itself (RetryLater with afterMs), if it did. */
export function askedWaitMs(error: unknown): number | undefined {
  return error instanceof RetryLater ? error.afterMs : undefined;
}

/** Whether a failed try counts among the item's failures: a backed-off one, or one its handler says failed. */
export function countsAsFailure(error: unknown): boolean {
  return askedWaitMs(error) === undefined || (error instanceof RetryLater && error.failed);
}

export interface BackoffOptions {
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * What a delivery that threw comes to: tried again after the wait its handler named (its turn under a rate,
 * Slack's Retry-After), which is not backed off and does not lengthen the next backoff unless it says it
 * failed; otherwise after the backoff of its failures.
 */
export function failingOutcome(error: unknown, failures: number, options: BackoffOptions): FailingOutcome {
  const expected = error instanceof RetryLater && error.expected;
  return { result: 'failing', error: describeError(error), retryInMs: askedWaitMs(error) ?? backoffMs(failures + 1, options), expected, backedOff: countsAsFailure(error) };
}

/** Exponential backoff with ±20% jitter so retries of many items do not arrive together. */
export function backoffMs(attempts: number, options: BackoffOptions, random = Math.random): number {
  const exp = Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}

/**
 * A handler's part in a stop (`OutboxHandler.interrupt`): from then on nothing new goes out, and
 * work still under way `graceMs` later is cut through `signal`. Either way the item stays queued,
 * due at once for the next instance.
 */
export class StopGrace {
  private readonly controller = new AbortController();
  private stopped = false;

  constructor(private readonly graceMs: number) {}

  /** Passed to the request or send that a stop may cut. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  interrupt(): void {
    this.stopped = true;
    setTimeout(() => this.controller.abort(), this.graceMs).unref();
  }

  /** Before starting a request or send: none starts once a stop has begun. */
  refuseIfStopping(): void {
    if (this.stopped) throw new RetryLater('the service is stopping; sent from the queue later', 0, true);
  }

  /** After a request or send failed: one the stop cut is queued again rather than a failure. */
  throwIfCut(): void {
    if (this.controller.signal.aborted) throw new RetryLater('cut short by a stop; sent from the queue later', 0, true);
  }
}

/**
 * Holds every item of a kind while what they all need is out (the mail server unreachable, Slack
 * refusing the app's token): one try now and then, instead of each queued item tried (and logged)
 * in turn for the whole outage. The hold starts short and doubles with each failed try, up to `maxMs`.
 */
export class OutageHold {
  private outage: { tries: number; until: number } | undefined;

  constructor(private readonly clock: { now(): number }, private readonly firstMs = 2_000, private readonly maxMs = 5 * 60_000) {}

  /** Starts (or lengthens) the hold after a failed try; answers how long is left of it, and whether it started now. */
  failed(): { waitMs: number; started: boolean } {
    const now = this.clock.now();
    // The lanes of one try fail together: they count as one. A hold long over (nothing tried
    // since) is a new outage, starting short again.
    if (this.outage && now - this.outage.until > this.maxMs) this.outage = undefined;
    const started = !this.outage;
    if (!this.outage || now >= this.outage.until) {
      const tries = (this.outage?.tries ?? 0) + 1;
      this.outage = { tries, until: now + Math.min(this.maxMs, this.firstMs * 2 ** (tries - 1)) };
    }
    return { waitMs: this.outage.until - now, started };
  }

  /** A try went through: the outage is over. */
  ended(): void {
    this.outage = undefined;
  }

  /** Until when nothing of the kind should be tried (OutboxHandler.heldUntil). */
  until(): number | undefined {
    return this.outage?.until;
  }

  /** The wait left of a hold in force now; undefined when there is none. */
  left(): number | undefined {
    const now = this.clock.now();
    return this.outage && now < this.outage.until ? this.outage.until - now : undefined;
  }
}
