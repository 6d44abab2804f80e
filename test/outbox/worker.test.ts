import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDb, inTransaction, type Db } from '../../src/db/index.js';
import { createLogger } from '../../src/logger.js';
import { enqueue, type OutboxRow } from '../../src/outbox/outbox.js';
import { backoffMs, DEFAULT_WORKER_OPTIONS, OutboxWorker, RetryLater, type OutboxHandler } from '../../src/outbox/worker.js';
import { createTestDatabase, DIALECTS, ManualClock, type TestDatabase } from '../support/db.js';

const silent = createLogger('silent');
const KIND = 'test_item';

describe('backoffMs', () => {
  const options = { backoffBaseMs: 2_000, backoffMaxMs: 15 * 60_000 };

  it('doubles with each attempt, from the base', () => {
    const middle = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, options, middle))).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 64_000]);
    expect(backoffMs(0, options, middle)).toBe(2_000);
  });

  it('is capped, however many attempts', () => {
    expect(backoffMs(10, options, () => 0.5)).toBe(15 * 60_000);
    expect(backoffMs(60, options, () => 0.5)).toBe(15 * 60_000);
    expect(backoffMs(5_000, options, () => 0.5)).toBe(15 * 60_000);
  });

  it('jitters by at most ±20%', () => {
    expect(backoffMs(3, options, () => 0)).toBe(6_400);
    expect(backoffMs(3, options, () => 0.999999)).toBe(9_600);
    expect(backoffMs(60, options, () => 0.999999)).toBeLessThanOrEqual(15 * 60_000 * 1.2);
    for (let i = 0; i < 200; i++) {
      const wait = backoffMs(4, options);
      expect(wait).toBeGreaterThanOrEqual(12_800);
      expect(wait).toBeLessThanOrEqual(19_200);
    }
  });
});

describe.each(DIALECTS)('OutboxWorker (%s)', (dialect) => {
  let test: TestDatabase;
  let clock: ManualClock;
  const extraDbs: Db[] = [];

  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    clock = new ManualClock();
  });

  afterEach(async () => {
    for (const db of extraDbs.splice(0)) await db.destroy();
    await test.destroy();
  });

  const queue = (count: number) =>
    inTransaction(test.db, (trx) => enqueue(trx, clock.now(), Array.from({ length: count }, (_, i) => ({ kind: KIND, payload: { n: i } }))));

  const rows = () => test.db<OutboxRow>('outbox').orderBy('id');

  /** A handler that records what it delivered; `behave` may throw or wait. */
  const recorder = (behave: (item: OutboxRow, call: number) => Promise<void> | void = () => undefined) => {
    const delivered: number[] = [];
    let calls = 0;
    const handler: OutboxHandler = {
      kind: KIND,
      async deliver(item) {
        await behave(item, ++calls);
        delivered.push((JSON.parse(item.payload) as { n: number }).n);
        return { result: 'done' };
      },
    };
    return { handler, delivered, calls: () => calls };
  };

  it('retries a failing item with exponentially growing, capped waits', async () => {
    const { handler, delivered } = recorder(() => {
      throw new Error('still broken');
    });
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { backoffBaseMs: 1_000, backoffMaxMs: 10_000 });
    await queue(1);
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 7; attempt++) {
      expect(await worker.runOnce()).toBe(0);
      const [row] = await rows();
      expect(row).toMatchObject({ state: 'pending', attempts: attempt, locked_until: null, last_error: 'still broken' });
      waits.push(Number(row!.next_attempt_at) - clock.now());
      // Not due a moment before its time.
      clock.current = Number(row!.next_attempt_at) - 1;
      expect(await worker.runOnce()).toBe(0);
      expect((await rows())[0]!.attempts).toBe(attempt);
      clock.advance(1);
    }
    const nominal = [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000];
    waits.forEach((wait, i) => {
      expect(wait).toBeGreaterThanOrEqual(nominal[i]! * 0.8);
      expect(wait).toBeLessThanOrEqual(nominal[i]! * 1.2);
    });
    expect(delivered).toEqual([]);
  });

  it('honours the wait a handler asks for with RetryLater', async () => {
    const { handler, delivered, calls } = recorder((_item, call) => {
      if (call === 1) throw new RetryLater('rate limited', 90_000);
    });
    const worker = new OutboxWorker(test.db, clock, silent, [handler]);
    await queue(1);
    expect(await worker.runOnce()).toBe(0);
    expect((await rows())[0]).toMatchObject({ next_attempt_at: clock.now() + 90_000, last_error: 'rate limited' });

    clock.advance(89_999);
    expect(await worker.runOnce()).toBe(0);
    expect(calls()).toBe(1);
    clock.advance(1);
    expect(await worker.runOnce()).toBe(1);
    expect(delivered).toEqual([0]);
    expect((await rows())[0]).toMatchObject({ state: 'done', attempts: 2, last_error: null, done_at: clock.now() });
  });

  it('takes an item up again when the worker holding it died and its lease ran out', async () => {
    const leaseMs = 30_000;
    // Worker A claims the item and never finishes (its process died mid-delivery).
    const dead = new OutboxWorker(test.db, clock, silent, [{ kind: KIND, deliver: () => new Promise(() => undefined) }], { leaseMs });
    await queue(1);
    void dead.runOnce();
    for (let i = 0; i < 100 && (await rows())[0]!.locked_until === null; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await rows())[0]).toMatchObject({ state: 'pending', attempts: 1, locked_until: clock.now() + leaseMs });

    // Another instance, on its own connections.
    const otherDb = createDb(test.config);
    extraDbs.push(otherDb);
    const { handler, delivered } = recorder();
    const alive = new OutboxWorker(otherDb, clock, silent, [handler], { leaseMs });
    expect(await alive.runOnce()).toBe(0); // still leased
    clock.advance(leaseMs - 1);
    expect(await alive.runOnce()).toBe(0);
    clock.advance(2);
    expect(await alive.runOnce()).toBe(1);
    expect(delivered).toEqual([0]);
    expect((await rows())[0]).toMatchObject({ state: 'done', attempts: 2, locked_until: null });
  });

  it('a worker that finishes after its lease ran out does not overwrite the claim of the worker that took over', async () => {
    const leaseMs = 30_000;
    let finishSlow: () => void = () => undefined;
    const slow = new OutboxWorker(test.db, clock, silent, [{ kind: KIND, deliver: () => new Promise((resolve) => (finishSlow = () => resolve({ result: 'done' }))) }], { leaseMs });
    await queue(1);
    const slowPass = slow.runOnce();
    for (let i = 0; i < 100 && (await rows())[0]!.locked_until === null; i++) await new Promise((resolve) => setTimeout(resolve, 10));

    clock.advance(leaseMs + 1);
    const otherDb = createDb(test.config);
    extraDbs.push(otherDb);
    let finishFast: () => void = () => undefined;
    const fast = new OutboxWorker(otherDb, clock, silent, [{ kind: KIND, deliver: () => new Promise((resolve) => (finishFast = () => resolve({ result: 'done' }))) }], { leaseMs });
    const fastPass = fast.runOnce();
    for (let i = 0; i < 100 && (await rows())[0]!.attempts < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await rows())[0]).toMatchObject({ state: 'pending', attempts: 2 });

    finishSlow();
    expect(await slowPass).toBe(1);
    // The late outcome was not recorded: the item is still the second worker's.
    expect((await rows())[0]).toMatchObject({ state: 'pending', attempts: 2, locked_until: clock.now() + leaseMs });
    finishFast();
    expect(await fastPass).toBe(1);
    expect((await rows())[0]).toMatchObject({ state: 'done', attempts: 2, locked_until: null });
  });

  it('two workers on one database, as two instances would run, deliver each item exactly once', async () => {
    const total = 120;
    await queue(total);
    const seen = new Map<number, number>();
    const workers = [0, 1].map(() => {
      const db = createDb(test.config);
      extraDbs.push(db);
      const handler: OutboxHandler = {
        kind: KIND,
        async deliver(item) {
          // Long enough for the two workers' passes to overlap.
          await new Promise((resolve) => setTimeout(resolve, 2));
          const n = (JSON.parse(item.payload) as { n: number }).n;
          seen.set(n, (seen.get(n) ?? 0) + 1);
          return { result: 'done' };
        },
      };
      return new OutboxWorker(db, clock, silent, [handler], { batchSize: 15, concurrency: 4 });
    });

    const settled = await Promise.all(workers.map((w) => w.drain()));

    expect(settled[0]!.delivered + settled[1]!.delivered).toBe(total);
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    const after = await rows();
    expect(after.every((r) => r.state === 'done' && r.attempts === 1)).toBe(true);
  });

  it('the running worker (start/stop) picks up queued items by itself and stops cleanly', async () => {
    const { handler, delivered } = recorder();
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { pollIntervalMs: 20 });
    await queue(3);
    worker.start();
    try {
      for (let i = 0; i < 200 && delivered.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(delivered.sort()).toEqual([0, 1, 2]);
      await queue(1);
      worker.wake();
      for (let i = 0; i < 200 && delivered.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(delivered).toHaveLength(4);
    } finally {
      await worker.stop();
    }
    await queue(1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(delivered).toHaveLength(4); // stopped means stopped
    expect(DEFAULT_WORKER_OPTIONS.leaseMs).toBeGreaterThan(30_000); // longer than the SMTP time limit
  });
});
