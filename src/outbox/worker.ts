import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { inTransaction, isPostgres, type Db, type Trx } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { describeError } from '../shared/errors.js';
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

/** A delivery that failed and will be tried again. */
export type FailingOutcome = { result: 'failing'; error: string };
export type RecordedOutcome = DeliveryOutcome | FailingOutcome;

/** One delivered (or failed) item whose outcome is being recorded. */
export interface SettledItem {
  item: OutboxRow;
  outcome: RecordedOutcome;
}

export interface OutboxHandler {
  kind: string;
  deliver(item: OutboxRow): Promise<DeliveryOutcome>;
  /**
   * Optional: reads what a claimed batch needs in one go (e.g. its invitations in one query) and
   * returns the delivery to use for each of its items. Without it, each item is `deliver`ed alone.
   */
  prepare?(items: OutboxRow[]): Promise<(item: OutboxRow) => Promise<DeliveryOutcome>>;
  /**
   * Optional: runs in the transaction that records a group of outcomes (e.g. the invitations'
   * delivery state), for the items of this kind that are still this worker's.
   */
  recordOutcomes?(trx: Trx, settled: SettledItem[]): Promise<void>;
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
  /**
   * How many delivered items a lane may have whose outcome is not recorded yet while it delivers
   * the next. Outcomes are written in groups of about `concurrency × unrecordedPerLane / 2`, in one
   * transaction each: half the allowance, so that the lanes go on delivering while a group is being
   * written (a group of the whole allowance had every lane wait for each write). After a crash at
   * most `concurrency × (1 + unrecordedPerLane)` items (those being sent, and those sent but not yet
   * recorded) can be delivered a second time. 0: each lane waits for its outcome to be recorded
   * before it takes the next item.
   */
  unrecordedPerLane: number;
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  pollIntervalMs: 1_000,
  batchSize: 50,
  concurrency: 5,
  leaseMs: 120_000,
  backoffBaseMs: 2_000,
  backoffMaxMs: 15 * 60_000,
  // Groups of about 20 outcomes. The mail benchmark needs them this seldom on the shared 2-core
  // machine: 1 per lane gave 0.61–0.63 of nodemailer's rate, 4 gave 0.73–0.98 (groups of 20, each
  // write stalling the lanes); 8 (groups of 20, no stall) gave 0.80 where 4 gave 0.71 in the same
  // run on PostgreSQL. At most 45 repeats.
  unrecordedPerLane: 8,
};

/** Exponential backoff with ±20% jitter so retries from many items do not arrive together. */
export function backoffMs(attempts: number, options: Pick<WorkerOptions, 'backoffBaseMs' | 'backoffMaxMs'>, random = Math.random): number {
  const exp = Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}

export class OutboxWorker {
  private readonly handlers = new Map<string, OutboxHandler>();
  private readonly options: WorkerOptions;
  private readonly outcomes: OutcomeRecorder;
  /**
   * Items this worker claimed whose outcome is not recorded yet. Its own claims pass them over: a
   * lease that ran out meanwhile (a slow send, a clock moved in a test) must not make this worker
   * take back an item it is still delivering or recording.
   */
  private readonly held = new Set<number>();
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
    this.outcomes = new OutcomeRecorder(db, clock, logger, (kind) => this.handlers.get(kind)!, this.options.concurrency * Math.max(1, Math.ceil(this.options.unrecordedPerLane / 2)));
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
    return this.pass(() => true);
  }

  /** One pass: claim a batch of due items and deliver them; returns how many were settled. */
  async runOnce(): Promise<number> {
    return (await this.pass(() => false)).settled;
  }

  /**
   * Claims a batch and delivers it through the lanes. With `keepClaiming`, the next batch is claimed
   * as soon as the current one is all handed out (so no lane idles between batches), until nothing
   * is due or a whole batch settled nothing (say, the SMTP server is down).
   */
  private async pass(keepClaiming: () => boolean): Promise<PassResult> {
    const result: PassResult = { settled: 0, delivered: 0, cancelled: 0 };
    const first = await this.claimBatch();
    if (!first) return result;
    let batch = first;
    let following: Promise<Batch | undefined> | undefined;
    let claimFailed: unknown;
    /** The batch after `batch`, once `batch` has settled something (as one pass after another would). */
    const claimAfter = async (batch: Batch): Promise<Batch | undefined> => {
      if (!(await batch.useful)) return undefined;
      try {
        return await this.claimBatch();
      } catch (error) {
        // The lanes finish what they hold (and see it recorded) before the pass reports the failure.
        claimFailed = error;
        return undefined;
      }
    };
    const take = async (): Promise<{ item: OutboxRow; from: Batch } | undefined> => {
      for (;;) {
        const current = batch;
        if (current.taken < current.items.length) {
          const item = current.items[current.taken++]!;
          // Claim (and prepare) the next batch while the last items of this one are being sent.
          if (current.items.length - current.taken <= this.options.concurrency && keepClaiming()) following ??= claimAfter(current);
          return { item, from: current };
        }
        // A claim already made is delivered even when the worker is stopping: its items are ours now.
        if (!following && !keepClaiming()) return undefined;
        const awaited = (following ??= claimAfter(current));
        const next = await awaited;
        if (!next) return undefined;
        if (following === awaited) {
          batch = next;
          following = undefined;
        }
      }
    };
    // A lane hands each outcome to the recorder and goes on delivering; once it has
    // `unrecordedPerLane` outcomes not yet recorded, it waits for the oldest before it hands over
    // another. So a crash can repeat at most 1 + unrecordedPerLane items per lane.
    const lane = async () => {
      const unrecorded: Recording[] = [];
      for (let next = await take(); next; next = await take()) {
        const { item, from } = next;
        const pending = await this.deliverOne(item, from.deliveries.get(item.kind)!);
        const outcome = pending?.outcome.result;
        const settled = outcome === 'done' || outcome === 'cancelled';
        if (settled) {
          result.settled++;
          result[outcome === 'done' ? 'delivered' : 'cancelled']++;
        }
        from.ended(settled);
        if (!pending) {
          this.held.delete(item.id);
          continue;
        }
        const recording = this.outcomes.record(pending);
        void recording.done.then(() => this.held.delete(item.id));
        unrecorded.push(recording);
        while (unrecorded.length > this.options.unrecordedPerLane) await this.outcomes.recorded(unrecorded.shift()!);
      }
      for (const recording of unrecorded) await this.outcomes.recorded(recording);
    };
    const width = keepClaiming() ? this.options.concurrency : Math.min(this.options.concurrency, first.items.length);
    await Promise.all(Array.from({ length: width }, lane));
    if (claimFailed) throw claimFailed;
    return result;
  }

  private async claimBatch(): Promise<Batch | undefined> {
    const items = await this.claim();
    if (items.length === 0) return undefined;
    return new Batch(items, await this.prepare(items));
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = this.pass(() => !this.stopped).then((pass) => pass.settled);
    try {
      await this.running;
    } catch (error) {
      this.logger.error({ err: error }, 'outbox pass failed; will try again');
    } finally {
      this.running = undefined;
    }
    if (this.stopped) return;
    // The pass went on while items were due: look again after the poll interval, or at once when
    // something was queued meanwhile.
    const again = this.rerun;
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
    const held = [...this.held];
    const candidates = due(this.db('outbox'))
      .modify((q) => (held.length > 0 ? q.whereNotIn('id', held) : q))
      .orderBy('next_attempt_at')
      .limit(this.options.batchSize)
      .select('id');
    // One statement picks and claims the batch, and each row is won exactly once.
    // - PostgreSQL: the pick locks its rows (skipping those another claim holds, and re-checking one
    //   changed since the statement began, so a row claimed meanwhile is no longer due), and the
    //   update finds them by id, in an array computed once. As `IN (subquery)` with the due
    //   conditions repeated, the planner, misled by a freshly filled table without statistics, ran
    //   the pick again for every due row (45 ms per claim with 2,000 queued, growing with the square
    //   of the backlog); with the conditions repeated it walked every due row to find the 50.
    // - SQLite has one writer at a time: the update checks again that each picked row is still due.
    const batch = isPostgres(this.db) ? this.db('outbox').whereRaw('id = any(array(?))', [candidates.forUpdate().skipLocked()]) : due(this.db('outbox').whereIn('id', candidates));
    const claimed = (await batch
      .update({ locked_until: now + this.options.leaseMs, attempts: this.db.raw('attempts + 1') })
      .returning('*')) as OutboxRow[];
    const items = claimed
      .map((row) => ({ ...row, id: Number(row.id), attempts: Number(row.attempts) }))
      .sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at) || a.id - b.id);
    for (const item of items) this.held.add(item.id);
    return items;
  }

  /** The delivery for each kind in a claimed batch: the handler's batch-prepared one where it has it. */
  private async prepare(claimed: OutboxRow[]): Promise<Map<string, Delivery>> {
    const deliveries = new Map<string, Delivery>();
    for (const kind of new Set(claimed.map((item) => item.kind))) {
      const handler = this.handlers.get(kind)!;
      const plain = (item: OutboxRow) => handler.deliver(item);
      deliveries.set(kind, plain);
      if (!handler.prepare) continue;
      try {
        deliveries.set(kind, await handler.prepare(claimed.filter((item) => item.kind === kind)));
      } catch (error) {
        // Not fatal: each item is then delivered on its own, as a handler without `prepare` would.
        this.logger.warn({ kind, error: describeError(error) }, 'could not prepare a batch; delivering its items one by one');
      }
    }
    return deliveries;
  }

  /** Delivers one item; `undefined` when its lease ran out before its turn came (it is left to the next claim). */
  private async deliverOne(item: OutboxRow, deliver: Delivery): Promise<PendingOutcome | undefined> {
    // Run out by the claim's own rule (`locked_until < now`): at the very instant it ends the item is still
    // ours, and no claim (another worker's, or this one's next) can take it yet.
    if (item.locked_until !== null && Number(item.locked_until) < this.clock.now()) {
      this.logger.warn({ outbox: item.id, kind: item.kind }, 'not delivered: its lease ran out while it waited its turn; it is left to the next claim');
      return undefined;
    }
    let outcome: DeliveryOutcome;
    try {
      outcome = await deliver(item);
    } catch (error) {
      const message = describeError(error);
      const wait = error instanceof RetryLater ? error.afterMs : backoffMs(item.attempts, this.options);
      const expected = error instanceof RetryLater && error.expected;
      this.logger[expected ? 'debug' : 'warn']({ outbox: item.id, kind: item.kind, attempts: item.attempts, retryInMs: wait, error: message }, expected ? 'delivery waits its turn' : 'delivery failed; will retry');
      return { item, outcome: { result: 'failing', error: message }, retryInMs: wait };
    }
    this.logger.debug({ outbox: item.id, kind: item.kind, outcome: outcome.result }, 'delivered');
    return { item, outcome };
  }
}

type Delivery = (item: OutboxRow) => Promise<DeliveryOutcome>;

/** A claimed batch on its way through the lanes. */
class Batch {
  taken = 0;
  private endedCount = 0;
  private settledCount = 0;
  private answer!: (useful: boolean) => void;
  /** True once an item of the batch settled; false when all of them ended and none did. */
  readonly useful = new Promise<boolean>((resolve) => (this.answer = resolve));

  constructor(
    readonly items: OutboxRow[],
    readonly deliveries: Map<string, Delivery>,
  ) {}

  /** An item's delivery ended: settled (delivered or cancelled), or not (failing, or not tried). */
  ended(settled: boolean): void {
    this.endedCount++;
    if (settled) this.settledCount++;
    if (this.settledCount > 0) this.answer(true);
    else if (this.endedCount === this.items.length) this.answer(false);
  }
}

interface PendingOutcome extends SettledItem {
  /** For a failing delivery: how long until the next try, counted from when the outcome is recorded. */
  retryInMs?: number;
}

/** Group size limit: keeps each set-based statement well inside SQLite's bound-parameter limit. */
const MAX_GROUP = 200;

/**
 * How long an outcome may wait for its group to fill (real time): with slow sends a group fills
 * slowly, and a delivery state must not lag, nor an outcome come near its lease's end, for that.
 */
export const MAX_UNRECORDED_MS = 1_000;

/** An outcome handed to the recorder; `done` resolves once it is recorded (or given up on). */
interface Recording {
  pending: PendingOutcome;
  /** Still waiting in the recorder's queue (not yet taken into a group being written). */
  queued: boolean;
  done: Promise<void>;
  finish: () => void;
}

/**
 * Records delivery outcomes in groups (group commit), in one transaction and a few set-based
 * statements per group instead of one transaction per email. A group is written once it is full
 * (half of `unrecordedPerLane` outcomes per lane) or as soon as someone waits for an outcome still queued;
 * outcomes that arrive while a group is being written form the next one. An outcome given up on (the database
 * kept failing) is left to its lease: when it runs out the item is tried again.
 */
class OutcomeRecorder {
  private queued: Recording[] = [];
  private writing = false;
  /** Someone waits for a queued outcome: write what is queued without waiting for a full group. */
  private wanted = false;
  /** Set while outcomes are queued: asks for them to be written once the oldest waited too long. */
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly handlerFor: (kind: string) => OutboxHandler,
    private readonly groupSize: number,
  ) {}

  record(pending: PendingOutcome): Recording {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const recording: Recording = { pending, queued: true, done, finish };
    this.queued.push(recording);
    this.deadline ??= setTimeout(() => {
      this.deadline = undefined;
      this.wanted = true;
      this.writeSoon();
    }, MAX_UNRECORDED_MS).unref();
    this.writeSoon();
    return recording;
  }

  /** Waits until this outcome is recorded, asking for its group to be written now. */
  recorded(recording: Recording): Promise<void> {
    if (recording.queued) {
      this.wanted = true;
      this.writeSoon();
    }
    return recording.done;
  }

  private writeSoon(): void {
    if (!this.writing && this.due()) void this.writeAll();
  }

  private due(): boolean {
    return this.queued.length > 0 && (this.wanted || this.queued.length >= this.groupSize);
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    try {
      while (this.due()) {
        const group = this.queued.splice(0, MAX_GROUP);
        if (this.queued.length === 0) {
          this.wanted = false;
          clearTimeout(this.deadline);
          this.deadline = undefined;
        }
        for (const recording of group) recording.queued = false;
        await this.settle(group.map((r) => r.pending));
        for (const recording of group) recording.finish();
      }
    } finally {
      this.writing = false;
    }
  }

  private async settle(group: PendingOutcome[]): Promise<void> {
    if (group.length > 1) {
      try {
        await this.write(group);
        return;
      } catch (error) {
        // One item must not hold back the others (a fault tied to one row would fail every group it
        // is in): each is recorded on its own now, with the usual retries.
        this.logger.warn({ outbox: group.map((p) => p.item.id), error: describeError(error) }, 'could not record a group of outcomes; recording them one by one');
      }
    }
    await Promise.all(group.map((pending) => this.settleAlone(pending)));
  }

  private async settleAlone(pending: PendingOutcome): Promise<void> {
    // Recording the outcome must not be lost to a passing database fault: try a few times. If it
    // still fails the lease runs out and the item is tried again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.write([pending]);
        return;
      } catch (error) {
        if (attempt >= 5) {
          this.logger.error({ outbox: pending.item.id, err: error }, 'could not record a delivery outcome');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  /** One transaction: the guarded outbox updates, then each handler's own records for the items still ours. */
  private async write(group: PendingOutcome[]): Promise<void> {
    const lost = await inTransaction(this.db, async (trx) => {
      const ours = await this.markSettled(trx, group, this.clock.now());
      const recorded = group.filter((p) => ours.has(p.item.id));
      for (const kind of new Set(recorded.map((p) => p.item.kind))) {
        const settled = recorded.filter((p) => p.item.kind === kind).map(({ item, outcome }) => ({ item, outcome }));
        await this.handlerFor(kind).recordOutcomes?.(trx, settled);
      }
      const lost = group.filter((p) => !ours.has(p.item.id));
      // Rare: say why. Cancelled meanwhile (its invitation was accepted or revoked while the email
      // went out) is expected; claimed again after its lease ran out is not.
      const cancelled = lost.length === 0 ? [] : ((await trx('outbox').whereIn('id', lost.map((p) => p.item.id)).where({ state: 'cancelled' }).pluck('id')) as Array<number | string>);
      return lost.map((p) => ({ ...p, cancelled: cancelled.some((id) => Number(id) === p.item.id) }));
    });
    for (const { item, cancelled } of lost) {
      if (cancelled) this.logger.info({ outbox: item.id, kind: item.kind }, 'outcome not recorded: the item was cancelled while it was being delivered');
      else this.logger.warn({ outbox: item.id, kind: item.kind }, 'outcome not recorded: the item was claimed again after its lease ran out');
    }
  }

  /**
   * Records outcomes only while each claim is still this worker's: after a lease ran out another
   * worker may have claimed the item again (which raised `attempts`), and its claim must stand.
   * Items with the same update share one statement; returns the ids that were still ours.
   */
  private async markSettled(trx: Trx, group: PendingOutcome[], now: number): Promise<Set<number>> {
    const updates = new Map<string, { update: Record<string, unknown>; items: OutboxRow[] }>();
    for (const { item, outcome, retryInMs } of group) {
      const update =
        outcome.result === 'failing'
          ? { locked_until: null, next_attempt_at: now + (retryInMs ?? 0), last_error: outcome.error }
          : { state: outcome.result, locked_until: null, done_at: now, last_error: outcome.result === 'cancelled' ? outcome.reason : null };
      const key = JSON.stringify(update);
      const same = updates.get(key) ?? { update, items: [] as OutboxRow[] };
      same.items.push(item);
      updates.set(key, same);
    }
    const ours = new Set<number>();
    for (const { update, items } of updates.values()) {
      const rows = (await trx('outbox')
        // "Still pending", said as "neither done nor cancelled" so that PostgreSQL finds the rows by
        // id: `state = 'pending'` tempts it, before a fresh table has statistics, to walk every
        // pending row through the partial due index (a whole backlog per group).
        .whereNotIn('state', ['done', 'cancelled'])
        .whereIn(['id', 'attempts'], items.map((item) => [item.id, item.attempts]))
        .update(update)
        .returning('id')) as Array<{ id: number | string }>;
      for (const row of rows) ours.add(Number(row.id));
    }
    return ours;
  }
}
