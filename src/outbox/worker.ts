import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { inTransaction, type Db, type Trx } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { OutboxRow } from './outbox.js';

/** What a handler's delivery came to. `cancelled`: nothing to send any more (e.g. revoked). */
export type DeliveryOutcome = { result: 'done' } | { result: 'cancelled'; reason: string };

/** Thrown by a handler to ask for a specific wait before the next try (e.g. Slack's Retry-After). */
export class RetryLater extends Error {
  /** `expected`: a wait by design (pacing), not a failure: logged at debug, not as a warning. */
  constructor(message: string, readonly afterMs: number, readonly expected = false) {
    super(message);
    this.name = 'RetryLater';
  }
}

export interface OutboxHandler {
  kind: string;
  deliver(item: OutboxRow): Promise<DeliveryOutcome>;
  /** Runs in the transaction that records the outcome (e.g. the invitation's delivery state). */
  recordOutcome?(trx: Trx, item: OutboxRow, outcome: DeliveryOutcome | { result: 'failing'; error: string }): Promise<void>;
}

export interface PassResult {
  settled: number;
  delivered: number;
  cancelled: number;
}

export interface WorkerOptions {
  pollIntervalMs: number;
  batchSize: number;
  concurrency: number;
  /** How long a claimed item stays reserved; after that another worker may take it again. */
  leaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  pollIntervalMs: 1_000,
  batchSize: 50,
  concurrency: 5,
  leaseMs: 120_000,
  backoffBaseMs: 2_000,
  backoffMaxMs: 15 * 60_000,
};

/** Exponential backoff with ±20% jitter so retries from many items do not arrive together. */
export function backoffMs(attempts: number, options: Pick<WorkerOptions, 'backoffBaseMs' | 'backoffMaxMs'>, random = Math.random): number {
  const exp = Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}

export class OutboxWorker {
  private readonly handlers = new Map<string, OutboxHandler>();
  private readonly options: WorkerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = true;
  private rerun = false;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    handlers: OutboxHandler[],
    options: Partial<WorkerOptions> = {},
  ) {
    for (const handler of handlers) this.handlers.set(handler.kind, handler);
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
  }

  /** Adds a kind of work (e.g. Slack notices once Slack is on). */
  register(handler: OutboxHandler): void {
    this.handlers.set(handler.kind, handler);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Asks for a pass soon (after something was queued in this process). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.rerun = true;
    else this.schedule(0);
  }

  /** Stops polling and waits for deliveries under way; unfinished items stay queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Delivers everything due now, batch after batch; says how many were delivered and dropped. */
  async drain(): Promise<PassResult> {
    const total: PassResult = { settled: 0, delivered: 0, cancelled: 0 };
    for (;;) {
      const pass = await this.pass();
      total.settled += pass.settled;
      total.delivered += pass.delivered;
      total.cancelled += pass.cancelled;
      if (pass.settled === 0) return total;
    }
  }

  /** One pass: claim a batch of due items and deliver them; returns how many were settled. */
  async runOnce(): Promise<number> {
    return (await this.pass()).settled;
  }

  private async pass(): Promise<PassResult> {
    const claimed = await this.claim();
    const result: PassResult = { settled: 0, delivered: 0, cancelled: 0 };
    let next = 0;
    const lanes = Array.from({ length: Math.min(this.options.concurrency, claimed.length) }, async () => {
      while (next < claimed.length) {
        const item = claimed[next++]!;
        const outcome = await this.deliverOne(item);
        if (outcome === 'failing') continue;
        result.settled++;
        if (outcome === 'done') result.delivered++;
        else result.cancelled++;
      }
    });
    await Promise.all(lanes);
    return result;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    let settled = 0;
    this.running = this.runOnce();
    try {
      settled = await this.running;
    } catch (error) {
      this.logger.error({ err: error }, 'outbox pass failed; will try again');
    } finally {
      this.running = undefined;
    }
    if (this.stopped) return;
    const again = this.rerun || settled >= this.options.batchSize;
    this.rerun = false;
    this.schedule(again ? 0 : this.options.pollIntervalMs);
  }

  private async claim(): Promise<OutboxRow[]> {
    const now = this.clock.now();
    const kinds = [...this.handlers.keys()];
    const due = (q: Knex.QueryBuilder) =>
      q
        .where({ state: 'pending' })
        .where('next_attempt_at', '<=', now)
        .whereIn('kind', kinds)
        .where((w) => w.whereNull('locked_until').orWhere('locked_until', '<', now));
    const candidates = (await due(this.db('outbox')).orderBy('next_attempt_at').limit(this.options.batchSize).select('id')) as Array<{ id: number }>;
    if (candidates.length === 0) return [];
    // One conditional update claims the whole batch: a row another worker (or instance) claimed
    // meanwhile is locked now and no longer matches, so each row is won exactly once.
    const claimed = (await due(this.db('outbox').whereIn('id', candidates.map((c) => c.id)))
      .update({ locked_until: now + this.options.leaseMs, attempts: this.db.raw('attempts + 1') })
      .returning('*')) as OutboxRow[];
    const order = new Map(candidates.map((c, i) => [c.id, i]));
    return claimed.map((row) => ({ ...row, id: Number(row.id), attempts: Number(row.attempts) })).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  }

  private async deliverOne(item: OutboxRow): Promise<DeliveryOutcome['result'] | 'failing'> {
    const handler = this.handlers.get(item.kind)!;
    let outcome: DeliveryOutcome;
    try {
      outcome = await handler.deliver(item);
    } catch (error) {
      const message = describeError(error);
      const wait = error instanceof RetryLater ? error.afterMs : backoffMs(item.attempts, this.options);
      const expected = error instanceof RetryLater && error.expected;
      this.logger[expected ? 'debug' : 'warn']({ outbox: item.id, kind: item.kind, attempts: item.attempts, retryInMs: wait, error: message }, expected ? 'delivery waits its turn' : 'delivery failed; will retry');
      await this.settle(item, async (trx, now) => {
        if (!(await this.stillOurs(trx, item, { locked_until: null, next_attempt_at: now + wait, last_error: message }))) return;
        await handler.recordOutcome?.(trx, item, { result: 'failing', error: message });
      });
      return 'failing';
    }
    await this.settle(item, async (trx, now) => {
      const update = { state: outcome.result, locked_until: null, done_at: now, last_error: outcome.result === 'cancelled' ? outcome.reason : null };
      if (!(await this.stillOurs(trx, item, update))) return;
      await handler.recordOutcome?.(trx, item, outcome);
    });
    this.logger.debug({ outbox: item.id, kind: item.kind, outcome: outcome.result }, 'delivered');
    return outcome.result;
  }

  /**
   * Records an outcome only while the claim is still this worker's: after a lease ran out another
   * worker may have claimed the item again (which raised `attempts`), and its claim must stand.
   */
  private async stillOurs(trx: Trx, item: OutboxRow, update: Record<string, unknown>): Promise<boolean> {
    const updated = await trx('outbox').where({ id: item.id, attempts: item.attempts, state: 'pending' }).update(update);
    if (updated === 0) this.logger.warn({ outbox: item.id, kind: item.kind }, 'outcome not recorded: the item was claimed again after its lease ran out');
    return updated === 1;
  }

  private async settle(item: OutboxRow, write: (trx: Trx, now: number) => Promise<void>): Promise<void> {
    // Recording the outcome must not be lost to a passing database fault: try a few times. If it
    // still fails the lease runs out and the item is tried again (at most this one repeats).
    for (let attempt = 1; ; attempt++) {
      try {
        await inTransaction(this.db, (trx) => write(trx, this.clock.now()));
        return;
      } catch (error) {
        if (attempt >= 5) {
          this.logger.error({ outbox: item.id, err: error }, 'could not record a delivery outcome');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }
}

export function describeError(error: unknown): string {
  const e = error as { message?: string; responseCode?: number; code?: string };
  const text = e?.message ?? String(error);
  return text.replace(/\s+/g, ' ').slice(0, 500);
}
