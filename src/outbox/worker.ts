import type { Logger } from 'pino';
import { retryThroughOutage, type Db, type Trx } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { describeError } from '../shared/errors.js';
import { claimDue, extendClaims, recordOutcome, releaseClaims, type RecordedOutcome, type RecordResult } from './claims.js';
import type { OutboxRow } from './outbox.js';
import { askedWaitMs, backoffMs, countsAsFailure, RetryLater } from './retry.js';

export { backoffMs, OutageHold, RetryLater, StopGrace } from './retry.js';
export type { RecordedOutcome, RecordResult } from './claims.js';

/** What a handler's delivery came to: a recorded outcome other than `failing` (a failure is thrown). */
export type DeliveryOutcome = Exclude<RecordedOutcome, { result: 'failing' }>;

export interface OutboxHandler {
  kind: string;
  deliver(item: OutboxRow): Promise<DeliveryOutcome>;
  /** Optional: runs in the transaction that records an item's outcome. */
  recordOutcome?(trx: Trx, item: OutboxRow, outcome: RecordedOutcome): Promise<void>;
  /** Optional: on stop, for good — ends deliveries that wait on someone else (a slow webhook receiver); they stay queued. */
  interrupt?(): void;
  /**
   * Optional: until when none of this kind should be tried (the mail server is unreachable): the
   * worker claims none of it meanwhile, so an outage is not a retry of every queued item in turn.
   */
  heldUntil?(): number | undefined;
  /**
   * Optional: records an outcome itself, with what else it changes (its invitation's delivery state), in place
   * of the worker's record; undefined leaves it to the worker's record, with recordOutcome in its transaction.
   */
  record?(item: OutboxRow, outcome: RecordedOutcome, now: number): Promise<RecordResult | undefined>;
}

export interface PassResult {
  settled: number;
  delivered: number;
  cancelled: number;
  refused: number;
  /** Tries that failed and wait for a retry (turns waited under a rate are not failures). */
  failed: number;
  /** The last of those failures' errors. */
  lastError?: string;
}

/** Told of each outcome once it is recorded (metrics); an outcome another worker's claim overrode is not told. */
export type DeliveryObserver = (kind: string, outcome: RecordedOutcome) => void;

export interface WorkerOptions {
  pollIntervalMs: number;
  batchSize: number;
  /** Deliveries at once. A crash repeats at most this many: those being delivered at that moment. */
  concurrency: number;
  /**
   * How long a claimed item stays reserved before another worker may take it. It is extended while its batch
   * is delivered (up to MAX_HOLD_MS), so only a worker that died, lost its database or hangs lets it run out.
   */
  leaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** How long a batch's lease is extended at most (WorkerOptions.leaseMs). */
const MAX_HOLD_MS = 60 * 60_000;

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  pollIntervalMs: 1_000,
  batchSize: 50,
  concurrency: 5,
  leaseMs: 120_000,
  backoffBaseMs: 2_000,
  backoffMaxMs: 15 * 60_000,
};

/**
 * Delivers the outbox in claimed batches, `concurrency` at a time, recording each outcome before a lane takes
 * the next item. Instances may share a database: each claim is won by exactly one.
 */
export class OutboxWorker {
  private readonly handlers = new Map<string, OutboxHandler>();
  private readonly options: WorkerOptions;
  /** Items this worker claimed whose outcome is not recorded yet (its own claims pass them over). */
  private readonly held = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** Set by stop(): lanes take no further item of their batch. */
  private stopping = false;
  private rerun = false;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    handlers: OutboxHandler[],
    options: Partial<WorkerOptions> = {},
    private readonly observe?: DeliveryObserver,
  ) {
    for (const handler of handlers) this.handlers.set(handler.kind, handler);
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
  }

  /** Adds a kind of work (Slack notices, once Slack is on). */
  register(handler: OutboxHandler): void {
    this.handlers.set(handler.kind, handler);
  }

  /** The kinds of work this worker delivers. */
  kinds(): string[] {
    return [...this.handlers.keys()];
  }

  start(): void {
    this.stopped = false;
    this.stopping = false;
    this.schedule(0);
  }

  /** Asks for a pass soon (after something was queued in this process). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.rerun = true;
    else this.schedule(0);
  }

  /**
   * Stops polling and waits for deliveries under way; the rest of their batch is given back, due at
   * once for another instance or the next start, and unfinished items stay queued.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    clearTimeout(this.timer);
    for (const handler of this.handlers.values()) handler.interrupt?.();
    await this.running?.catch(() => undefined);
  }

  /** Delivers everything due now, batch after batch, until a batch settles nothing. */
  drain(): Promise<PassResult> {
    return this.pass(() => true);
  }

  /** One batch: claim due items and deliver them; returns how many were settled. */
  async runOnce(): Promise<number> {
    return (await this.pass(() => false)).settled;
  }

  private async pass(keepClaiming: () => boolean): Promise<PassResult> {
    const result: PassResult = { settled: 0, delivered: 0, cancelled: 0, refused: 0, failed: 0 };
    for (;;) {
      const batch = await this.claim();
      if (batch.length === 0) return result;
      const before = result.settled;
      let next = 0;
      const lane = async () => {
        while (next < batch.length && !this.stopping) {
          const item = batch[next++]!;
          try {
            const outcome = await this.deliverOne(item);
            if (!outcome) continue;
            await this.record(item, outcome);
            if (outcome.result !== 'failing') {
              result.settled++;
              result[outcome.result === 'done' ? 'delivered' : outcome.result]++;
            } else if (!outcome.expected) {
              result.failed++;
              result.lastError = outcome.error;
            }
          } finally {
            this.held.delete(item.id);
          }
        }
      };
      let extending = Promise.resolve();
      const claimedAt = this.clock.now();
      const leaseTimer = setInterval(() => {
        // A batch still under way after MAX_HOLD_MS (a delivery that hangs) lets its lease run out,
        // so another instance can take up what it holds.
        if (this.clock.now() - claimedAt < MAX_HOLD_MS) extending = this.extendLeases(batch);
      }, Math.max(50, this.options.leaseMs / 3));
      leaseTimer.unref?.();
      try {
        await Promise.all(Array.from({ length: Math.min(this.options.concurrency, batch.length) }, lane));
      } finally {
        clearInterval(leaseTimer);
        // No extension goes on after its pass (a stop closes the database next).
        await extending;
      }
      if (next < batch.length) {
        // Stopping (a deploy, say): what no lane took is given back rather than left to its lease.
        const untaken = batch.slice(next);
        await releaseClaims(this.db, untaken).catch((error: unknown) => this.logger.warn({ err: error }, 'could not give back claimed items; their lease brings them back'));
        for (const item of untaken) this.held.delete(item.id);
        return result;
      }
      // Nothing settled (say, the SMTP server is down): the rest waits for its retry time.
      if (!keepClaiming() || result.settled === before) return result;
    }
  }

  private async claim(): Promise<OutboxRow[]> {
    const now = this.clock.now();
    const kinds = [...this.handlers.values()].filter((handler) => (handler.heldUntil?.() ?? 0) <= now).map((handler) => handler.kind);
    if (kinds.length === 0) return [];
    const items = await claimDue(this.db, {
      now,
      kinds,
      exclude: [...this.held],
      limit: this.options.batchSize,
      leaseMs: this.options.leaseMs,
    });
    for (const item of items) this.held.add(item.id);
    return items;
  }

  /** Extends the lease of the batch's items this worker still holds (see WorkerOptions.leaseMs). */
  private async extendLeases(batch: OutboxRow[]): Promise<void> {
    const held = batch.filter((item) => this.held.has(item.id));
    const lockedUntil = this.clock.now() + this.options.leaseMs;
    try {
      const extended = await extendClaims(this.db, held, lockedUntil);
      // One another worker claimed meanwhile keeps its old end, so its turn never comes here.
      for (const item of held) if (extended.has(item.id)) item.locked_until = lockedUntil;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not extend the lease of items being delivered; another instance may take them up when it runs out');
    }
  }

  /** Delivers one item; undefined when its lease ran out before its turn came (it is left to the next claim). */
  private async deliverOne(item: OutboxRow): Promise<RecordedOutcome | undefined> {
    // Run out by the claim's own rule (`locked_until < now`): at the very instant it ends the item
    // is still ours, and no claim can take it yet.
    if (item.locked_until !== null && Number(item.locked_until) < this.clock.now()) {
      this.logger.warn({ outbox: item.id, kind: item.kind }, 'not delivered: its lease ran out while it waited its turn; it is left to the next claim');
      return undefined;
    }
    try {
      const outcome = await this.handlers.get(item.kind)!.deliver(item);
      this.logger.debug({ outbox: item.id, kind: item.kind, outcome: outcome.result }, 'delivered');
      return outcome;
    } catch (error) {
      const message = describeError(error);
      // A handler that names its own wait (its turn under a rate, Slack's Retry-After) is not
      // backed off, and that wait does not count towards the next backoff (unless it says it failed).
      const waitGiven = askedWaitMs(error);
      const retryInMs = waitGiven ?? backoffMs(Number(item.failures) + 1, this.options);
      const expected = error instanceof RetryLater && error.expected;
      this.logger[expected ? 'debug' : 'warn']({ outbox: item.id, kind: item.kind, attempts: item.attempts, retryInMs, error: message }, expected ? 'delivery waits its turn' : 'delivery failed; will retry');
      return { result: 'failing', error: message, retryInMs, expected, backedOff: countsAsFailure(error) };
    }
  }

  /**
   * Records an outcome, retrying through passing faults and an outage (a failover) for up to a lease: the
   * delivery is done, and an outcome not recorded lets the lease run out and the item go out again.
   */
  private async record(item: OutboxRow, outcome: RecordedOutcome): Promise<void> {
    const handler = this.handlers.get(item.kind)!;
    try {
      const recorded = await retryThroughOutage(
        async () => {
          const now = this.clock.now();
          return (
            (await handler.record?.(item, outcome, now)) ??
            (await recordOutcome(this.db, item, outcome, now, handler.recordOutcome && ((trx) => handler.recordOutcome!(trx, item, outcome))))
          );
        },
        { outageMs: this.options.leaseMs, stopping: () => this.stopping },
      );
      if (recorded === 'cancelled') this.logger.info({ outbox: item.id, kind: item.kind }, 'outcome not recorded: the item was cancelled while it was being delivered');
      if (recorded === 'claimed again') this.logger.warn({ outbox: item.id, kind: item.kind }, 'outcome not recorded: the item was claimed again after its lease ran out');
      if (recorded === 'recorded') this.observe?.(item.kind, outcome);
    } catch (error) {
      this.logger.error({ outbox: item.id, err: error }, 'could not record a delivery outcome');
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = this.pass(() => !this.stopped);
    try {
      await this.running;
    } catch (error) {
      this.logger.error({ err: error }, 'outbox pass failed; will try again');
    } finally {
      this.running = undefined;
    }
    if (this.stopped) return;
    // Look again after the poll interval, or at once when something was queued meanwhile.
    const again = this.rerun;
    this.rerun = false;
    this.schedule(again ? 0 : this.options.pollIntervalMs);
  }
}
