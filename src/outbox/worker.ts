import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { claimDue, releaseClaims } from './claims.js';
import { recordDelivery, tryDelivery, type DeliveryContext } from './delivery.js';
import type { DeliveryObserver, OutboxHandler } from './handler.js';
import { LeaseKeeper } from './leases.js';
import type { OutboxRow } from './outbox.js';

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

export interface WorkerOptions {
  pollIntervalMs: number;
  batchSize: number;
  /** Deliveries at once. A crash repeats at most this many: those being delivered at that moment. */
  concurrency: number;
  /**
   * How long a claimed item stays reserved before another worker may take it; extended while the item waits
   * or is delivered (LeaseKeeper).
   */
  leaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** One claim's count of settled items: a claim none of whose items settled is not followed by another at once. */
interface Claim {
  settled: number;
}

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
 * the next item. The next batch is claimed once all it claimed has started and a lane is free, not when the
 * slowest delivery ends, so one slow delivery holds only its own lane. Instances may share a database: each
 * claim is won by exactly one.
 */
export class OutboxWorker {
  private readonly handlers = new Map<string, OutboxHandler>();
  private readonly options: WorkerOptions;
  private readonly leases: LeaseKeeper;
  private readonly delivering: DeliveryContext;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** Set by stop(): lanes take no further item of their batch. */
  private stopping = false;
  private rerun = false;
  /** A pass waiting on deliveries under way, to be told of a wake. */
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    handlers: OutboxHandler[],
    options: Partial<WorkerOptions> = {},
    observe?: DeliveryObserver,
  ) {
    for (const handler of handlers) this.handlers.set(handler.kind, handler);
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
    this.leases = new LeaseKeeper(db, clock, logger, this.options.leaseMs);
    this.delivering = { db, clock, logger, backoff: this.options, leaseMs: this.options.leaseMs, stopping: () => this.stopping, observe };
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

  /** Asks for a look at the queue soon (after something was queued in this process). */
  wake(): void {
    if (this.stopped) return;
    if (!this.running) return this.schedule(0);
    this.rerun = true;
    for (const wake of this.wakers) wake();
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
    for (const wake of this.wakers) wake();
    await this.running?.catch(() => undefined);
  }

  /** Delivers everything due now, batch after batch, until a batch settles nothing (the CLI's `deliver`). */
  drain(): Promise<PassResult> {
    return this.pass(() => true, false);
  }

  /** One batch: claim due items and deliver them; returns how many were settled. */
  async runOnce(): Promise<number> {
    return (await this.pass(() => false, false)).settled;
  }

  /** `polls`: look for newly due work every poll interval while deliveries are under way (the service's passes). */
  private async pass(keepClaiming: () => boolean, polls: boolean): Promise<PassResult> {
    const result: PassResult = { settled: 0, delivered: 0, cancelled: 0, refused: 0, failed: 0 };
    const { concurrency } = this.options;
    const queue: Array<{ item: OutboxRow; claim: Claim }> = [];
    const underWay = new Set<Promise<void>>();
    let latest: Claim | undefined;
    // The poll interval passed since the last claim (a wake shows as `rerun`).
    let polled = false;
    // The last claim failed (the database away for a moment): it is tried again at the next look.
    let claimFailed = false;

    const deliver = async (item: OutboxRow, claim: Claim) => {
      try {
        const handler = this.handlers.get(item.kind)!;
        const outcome = await tryDelivery(handler, item, this.delivering);
        if (!outcome) return;
        await recordDelivery(handler, item, outcome, this.delivering);
        if (outcome.result !== 'failing') {
          claim.settled++;
          result.settled++;
          result[outcome.result === 'done' ? 'delivered' : outcome.result]++;
        } else if (!outcome.expected) {
          result.failed++;
          result.lastError = outcome.error;
        }
      } finally {
        this.leases.drop(item);
      }
    };

    // Told when a delivery ends, for the wait between claims.
    let ended = () => {};
    try {
      for (;;) {
        while (!this.stopping && underWay.size < concurrency && queue.length > 0) {
          const { item, claim } = queue.shift()!;
          this.leases.start(item);
          const delivery = deliver(item, claim)
            .catch((error: unknown) => this.logger.error({ err: error, outbox: item.id }, 'delivery failed unexpectedly; its lease brings it back'))
            .finally(() => {
              underWay.delete(delivery);
              ended();
            });
          underWay.add(delivery);
        }
        // Claim again once every claimed item has started and a lane is free, so a slow delivery holds its
        // lane only. Not after a claim none of whose items settled (the SMTP server is down, say: the rest
        // waits for its retry time), unless something was queued or the poll interval passed since.
        const lookAgain = this.rerun || (polled && (polls || claimFailed)) || (!claimFailed && latest !== undefined && latest.settled > 0);
        const mayClaim = !this.stopping && queue.length === 0 && underWay.size < concurrency && (latest === undefined || (keepClaiming() && lookAgain));
        if (mayClaim) {
          polled = false;
          this.rerun = false;
          try {
            const batch = await this.claim();
            latest = { settled: 0 };
            claimFailed = false;
            for (const item of batch) queue.push({ item, claim: latest });
          } catch (error) {
            // With deliveries under way the pass stays to record them, and claims again at the next look.
            if (underWay.size === 0) throw error;
            this.logger.warn({ err: error }, 'could not claim queued work; trying again in a moment');
            claimFailed = true;
          }
          continue;
        }
        if (underWay.size === 0 && !(claimFailed && keepClaiming() && !this.stopping)) break;
        const deliveryEnded = new Promise<'ended'>((resolve) => (ended = () => resolve('ended')));
        if ((await this.nextEvent(deliveryEnded)) === 'polled') polled = true;
      }
    } finally {
      // Nothing of this pass goes on after it (a stop closes the database next).
      await Promise.allSettled(underWay);
      // Stopping (a deploy, say): what no lane took is given back rather than left to its lease.
      const untaken = queue.map(({ item }) => item);
      if (untaken.length) await releaseClaims(this.db, untaken).catch((error: unknown) => this.logger.warn({ err: error }, 'could not give back claimed items; their lease brings them back'));
      for (const item of untaken) this.leases.drop(item);
      await this.leases.settled();
    }
    return result;
  }

  /** Waits for a delivery under way to end, a wake, or the poll interval. */
  private async nextEvent(deliveryEnded: Promise<'ended'>): Promise<'ended' | 'woken' | 'polled'> {
    let timer: NodeJS.Timeout | undefined;
    let woken: (() => void) | undefined;
    const nudge = new Promise<'woken' | 'polled'>((resolve) => {
      woken = () => resolve('woken');
      this.wakers.add(woken);
      timer = setTimeout(() => resolve('polled'), this.options.pollIntervalMs);
      timer.unref?.();
    });
    try {
      return await Promise.race([deliveryEnded, nudge]);
    } finally {
      clearTimeout(timer);
      this.wakers.delete(woken!);
    }
  }

  private async claim(): Promise<OutboxRow[]> {
    const now = this.clock.now();
    const kinds = [...this.handlers.values()].filter((handler) => (handler.heldUntil?.() ?? 0) <= now).map((handler) => handler.kind);
    if (kinds.length === 0) return [];
    const items = await claimDue(this.db, {
      now,
      kinds,
      exclude: this.leases.ids(),
      limit: this.options.batchSize,
      leaseMs: this.options.leaseMs,
    });
    this.leases.hold(items);
    return items;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = this.pass(() => !this.stopped, true);
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
