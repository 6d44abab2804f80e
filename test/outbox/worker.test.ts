import { afterEach, describe, expect, it } from 'vitest';
import { createDb, inTransaction, isPostgres } from '../../src/db/index.js';
import { createLogger } from '../../src/logger.js';
import { enqueue, type OutboxRow } from '../../src/outbox/outbox.js';
import type { OutboxHandler } from '../../src/outbox/handler.js';
import { backoffMs, RetryLater } from '../../src/outbox/retry.js';
import { DEFAULT_WORKER_OPTIONS, OutboxWorker } from '../../src/outbox/worker.js';
import { createTestDatabase, DIALECTS, ManualClock, watchStatements, type TestDatabase } from '../support/db.js';
import { outboxTestDatabase } from '../support/outbox.js';
import { eventually } from '../support/wait.js';

const silent = createLogger('silent');
const KIND = 'test_item';

interface PlanNode {
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  Plans?: PlanNode[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  const { test, clock, extraDbs, queue, rows } = outboxTestDatabase(dialect, KIND);

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

  it('backs off by the failures only: waits for its turn before them (a rate, Slack\'s pacing) do not lengthen the next backoff', async () => {
    const { handler } = recorder((_item, call) => {
      if (call <= 6) throw new RetryLater('waiting for its turn', 1_000, true);
      throw new Error('the server is down');
    });
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { backoffBaseMs: 2_000, backoffMaxMs: 15 * 60_000 });
    await queue(1);
    for (let turn = 1; turn <= 6; turn++) {
      expect(await worker.runOnce()).toBe(0);
      expect((await rows())[0]).toMatchObject({ attempts: turn, failures: 0, next_attempt_at: clock.now() + 1_000 });
      clock.advance(1_000);
    }
    const waits: number[] = [];
    for (let failure = 1; failure <= 2; failure++) {
      expect(await worker.runOnce()).toBe(0);
      const [row] = await rows();
      expect(row).toMatchObject({ failures: failure, last_error: 'the server is down' });
      waits.push(Number(row!.next_attempt_at) - clock.now());
      clock.current = Number(row!.next_attempt_at);
    }
    // The first failure's backoff (2 s ± 20%), then the second's (4 s): not 2 s doubled by the six waits.
    expect(waits[0]).toBeGreaterThanOrEqual(1_600);
    expect(waits[0]).toBeLessThanOrEqual(2_400);
    expect(waits[1]).toBeGreaterThanOrEqual(3_200);
    expect(waits[1]).toBeLessThanOrEqual(4_800);
  });

  it('takes an item up again when the worker holding it died and its lease ran out', async () => {
    const leaseMs = 30_000;
    // Worker A claims the item and never finishes (its process died mid-delivery).
    const dead = new OutboxWorker(test.db, clock, silent, [{ kind: KIND, deliver: () => new Promise(() => undefined) }], { leaseMs });
    await queue(1);
    // A dead process's pass never ends; whatever it tries after this test dropped its database is not the test's.
    void dead.runOnce().catch(() => undefined);
    await eventually(async () => (await rows())[0]!.locked_until !== null, 10_000, 'the claim');
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
    let finishSlow: (() => void) | undefined;
    const slow = new OutboxWorker(test.db, clock, silent, [{ kind: KIND, deliver: () => new Promise((resolve) => (finishSlow = () => resolve({ result: 'done' }))) }], { leaseMs });
    await queue(1);
    const slowPass = slow.runOnce();
    // Its delivery under way, not just claimed: a clock moved between the two would leave the item to the next claim.
    await eventually(() => finishSlow !== undefined, 10_000, 'the first delivery under way');

    clock.advance(leaseMs + 1);
    const otherDb = createDb(test.config);
    extraDbs.push(otherDb);
    let finishFast: () => void = () => undefined;
    const fast = new OutboxWorker(otherDb, clock, silent, [{ kind: KIND, deliver: () => new Promise((resolve) => (finishFast = () => resolve({ result: 'done' }))) }], { leaseMs });
    const fastPass = fast.runOnce();
    await eventually(async () => (await rows())[0]!.attempts >= 2, 10_000, 'the second attempt');
    expect((await rows())[0]).toMatchObject({ state: 'pending', attempts: 2 });

    finishSlow!();
    expect(await slowPass).toBe(1);
    // The late outcome was not recorded: the item is still the second worker's.
    expect((await rows())[0]).toMatchObject({ state: 'pending', attempts: 2, locked_until: clock.now() + leaseMs });
    finishFast();
    expect(await fastPass).toBe(1);
    expect((await rows())[0]).toMatchObject({ state: 'done', attempts: 2, locked_until: null });
  });

  it('a delivery slower than the lease keeps its items: the lease is extended while the batch is delivered, so no other worker takes them', async () => {
    // Real time: the lease is extended by a timer. Three deliveries at once, each 4 s, a 3 s lease
    // (extended every second): a stall of up to 2 s on a busy machine still keeps it.
    const leaseMs = 3_000;
    const real = { now: () => Date.now() };
    await queue(3);
    const slowDb = createDb(test.config);
    const otherDb = createDb(test.config);
    extraDbs.push(slowDb, otherDb);
    const slow = recorder(async () => {
      await sleep(4_000);
    });
    const worker = new OutboxWorker(slowDb, real, silent, [slow.handler], { leaseMs, concurrency: 3 });
    const pass = worker.runOnce();
    await eventually(async () => (await rows()).every((r) => r.locked_until !== null), 10_000, 'every row claimed');
    // Another instance keeps looking for due items the whole time.
    const other = recorder();
    const rival = new OutboxWorker(otherDb, real, silent, [other.handler], { leaseMs });
    const started = Date.now();
    while (Date.now() - started < 4_500) {
      await rival.runOnce();
      await sleep(100);
    }
    expect(await pass).toBe(3);
    expect(other.delivered).toEqual([]);
    expect([...slow.delivered].sort()).toEqual([0, 1, 2]);
    expect((await rows()).map((r) => [r.state, r.attempts])).toEqual(Array(3).fill(['done', 1]));
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

  it('a claim reads its batch, not the whole backlog, even in a freshly filled table without statistics', async () => {
    // 2,000 queued and never analyzed: what a bulk invitation leaves before autovacuum comes by
    // (kept away, so that no statistics turn up mid-test and hide a bad plan).
    if (isPostgres(test.db)) await test.db.raw('ALTER TABLE outbox SET (autovacuum_enabled = false)');
    await queue(2_000);
    const trace = watchStatements(test.db);
    const { handler } = recorder();
    try {
      expect(await new OutboxWorker(test.db, clock, silent, [handler], { batchSize: 50 }).runOnce()).toBe(50);
    } finally {
      trace.stop();
    }
    const claims = trace.queries.filter((query) => /^update .outbox. set .locked_until./i.test(query.sql));
    expect(claims).toHaveLength(1);
    // The same claim again (it takes the next 50), its plan read back, and rolled back.
    const sql = claims[0]!.sql.replace(/\$\d+/g, '?');
    const trx = await test.db.transaction();
    try {
      if (isPostgres(test.db)) {
        const plan = ((await trx.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, claims[0]!.bindings as never)) as { rows: Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }> }).rows[0]!['QUERY PLAN'][0]!.Plan;
        // Every step runs once: a nested loop picking the batch again for every due row made the
        // claim grow with the backlog. (Finding the 50 by id may scan a table this
        // small; a large one is read through its primary key.)
        const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];
        expect(nodes(plan).map((node) => node['Actual Loops'])).toEqual(nodes(plan).map(() => 1));
        const read = nodes(plan).reduce((sum, node) => sum + (node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Join Filter'] ?? 0), 0);
        expect(read).toBeLessThan(5_000);
      } else {
        // SQLite: the batch is picked once (not a correlated subquery) and its rows found by id.
        const plan = ((await trx.raw(`EXPLAIN QUERY PLAN ${sql}`, claims[0]!.bindings as never)) as Array<{ detail: string }>).map((row) => row.detail);
        expect(plan).toContain('SEARCH outbox USING INTEGER PRIMARY KEY (rowid=?)');
        expect(plan.some((detail) => /^(LIST SUBQUERY|SEARCH outbox USING INDEX outbox_due)/.test(detail))).toBe(true);
        expect(plan.some((detail) => /CORRELATED|SCAN outbox/.test(detail))).toBe(false);
      }
    } finally {
      await trx.rollback();
    }
  });

  const payloadN = (item: OutboxRow) => (JSON.parse(item.payload) as { n: number }).n;

  /** What a handler's `recordOutcome` wrote and the transaction kept: a row of job_cursors per item. */
  const kept = async () => ((await test.db('job_cursors').where('name', 'like', 'test:%').orderBy('name').pluck('name')) as string[]).map((n) => Number(n.slice(5)));
  const keepRecord = async (trx: Parameters<NonNullable<OutboxHandler['recordOutcome']>>[0], item: OutboxRow) => {
    await trx('job_cursors').insert({ name: `test:${payloadN(item)}`, position: 0, updated_at: 0 });
  };

  it('records an outcome and its handler\'s own record in one transaction: a failing record leaves the item as it was', async () => {
    const { handler } = recorder();
    handler.recordOutcome = async (trx, item) => {
      await keepRecord(trx, item);
      if (payloadN(item) === 1) throw new Error('constraint violated');
    };
    const leaseMs = 30_000;
    await queue(2);
    expect(await new OutboxWorker(test.db, clock, silent, [handler], { leaseMs }).runOnce()).toBe(2);
    const after = await rows();
    expect(after[0]).toMatchObject({ state: 'done' });
    // Rolled back together: still pending under its lease, without the handler's write.
    expect(after[1]).toMatchObject({ state: 'pending', locked_until: clock.now() + leaseMs });
    expect(await kept()).toEqual([0]);
  });

  it('an item claimed again by another worker keeps that claim; the others are recorded', async () => {
    const leaseMs = 30_000;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const handler: OutboxHandler = {
      kind: KIND,
      async deliver() {
        await gate;
        return { result: 'done' };
      },
      recordOutcome: keepRecord,
    };
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { leaseMs, concurrency: 6 });
    await queue(6);
    const pass = worker.runOnce();
    await eventually(async () => (await rows()).every((r) => r.locked_until !== null), 10_000, 'every row claimed');

    // Item 3's lease runs out and another worker claims it (as `claim` does: attempts + 1).
    clock.advance(leaseMs + 1);
    const lost = (await rows())[3]!;
    await test.db('outbox').where({ id: lost.id }).update({ attempts: lost.attempts + 1, locked_until: clock.now() + leaseMs });

    open();
    expect(await pass).toBe(6);
    expect(await kept()).toEqual([0, 1, 2, 4, 5]);
    const after = await rows();
    expect(after[3]).toMatchObject({ state: 'pending', attempts: 2, locked_until: clock.now() + leaseMs });
    expect(after.filter((r) => r.state === 'done').map((r) => r.id)).toEqual(after.filter((_, i) => i !== 3).map((r) => r.id));
  });

  it('an item cancelled while it was being delivered (its invitation accepted meanwhile) stays cancelled, and the log says so', async () => {
    const lines: Array<{ level: number; msg: string; outbox?: number }> = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const handler: OutboxHandler = {
      kind: KIND,
      async deliver(item) {
        // What accepting or revoking does to the invitation's queued email, while this one goes out.
        if (payloadN(item) === 1) await test.db('outbox').where({ id: item.id }).update({ state: 'cancelled', last_error: 'accepted' });
        return { result: 'done' };
      },
      recordOutcome: keepRecord,
    };
    await queue(3);
    expect(await new OutboxWorker(test.db, clock, logger, [handler]).runOnce()).toBe(3);
    expect(await kept()).toEqual([0, 2]);
    expect((await rows()).map((r) => [r.state, r.last_error])).toEqual([['done', null], ['cancelled', 'accepted'], ['done', null]]);
    const cancelled = (await rows())[1]!.id;
    expect(lines.filter((l) => l.outbox === cancelled).map((l) => [l.level, l.msg])).toEqual([[30, 'outcome not recorded: the item was cancelled while it was being delivered']]);
    expect(lines.some((l) => l.level >= 40)).toBe(false);
  });

  it('an outcome whose recording fails once is recorded all the same, and nothing is delivered twice', async () => {
    const { handler, delivered } = recorder();
    let failures = 1;
    const recorded: number[] = [];
    handler.recordOutcome = async (_trx, item) => {
      if (failures-- > 0) throw new Error('connection reset');
      recorded.push(payloadN(item));
    };
    const worker = new OutboxWorker(test.db, clock, silent, [handler]);
    await queue(12);
    expect(await worker.drain()).toMatchObject({ settled: 12, delivered: 12 });
    expect(delivered.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect(recorded.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect((await rows()).every((r) => r.state === 'done' && r.attempts === 1)).toBe(true);
    expect(await worker.drain()).toMatchObject({ settled: 0 });
  });

  it('an outcome recorded while the database cannot be reached (a failover) is recorded once it is back, within a lease, and nothing is delivered twice', async () => {
    const { handler, delivered } = recorder();
    // Longer than a few quick tries (the first five), well within the lease.
    let failures = 6;
    handler.recordOutcome = async () => {
      if (failures-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    };
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { leaseMs: 5_000 });
    await queue(1);
    expect(await worker.drain()).toMatchObject({ settled: 1, delivered: 1 });
    expect(failures).toBe(-1);
    expect((await rows()).map((r) => r.state)).toEqual(['done']);
    clock.advance(5_001);
    expect(await worker.drain()).toMatchObject({ settled: 0 });
    expect(delivered).toEqual([0]);
  });

  it('an item whose outcome cannot be recorded does not hold back the others; its lease brings it back', async () => {
    const leaseMs = 30_000;
    const { handler, delivered } = recorder();
    let broken = true;
    handler.recordOutcome = async (_trx, item) => {
      if (broken && payloadN(item) === 2) throw new Error('constraint violated');
    };
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { leaseMs });
    await queue(5);
    expect(await worker.runOnce()).toBe(5);
    const after = await rows();
    expect(after.map((r) => r.state)).toEqual(['done', 'done', 'pending', 'done', 'done']);
    expect(after[2]).toMatchObject({ attempts: 1, locked_until: clock.now() + leaseMs });

    broken = false;
    expect(await worker.runOnce()).toBe(0); // still leased
    clock.advance(leaseMs + 1);
    expect(await worker.runOnce()).toBe(1);
    expect(delivered.sort()).toEqual([0, 1, 2, 2, 3, 4]);
    expect((await rows()).every((r) => r.state === 'done')).toBe(true);
  });

  it('a crash repeats at most the deliveries under way at that moment: the worker\'s concurrency', async () => {
    const leaseMs = 30_000;
    const concurrency = 3;
    const total = 60;
    const crashAfter = 23;
    // The first process: after 23 accepted deliveries it dies, mid-flight. Deliveries under way
    // never finish, and nothing more reaches its database.
    const sentByFirst: number[] = [];
    let crashed = false;
    const dying: OutboxHandler = {
      kind: KIND,
      async deliver(item) {
        await sleep(1 + (item.id % 3));
        if (crashed) return new Promise(() => undefined);
        sentByFirst.push(payloadN(item));
        if (sentByFirst.length === crashAfter) crashed = true;
        return { result: 'done' };
      },
      async recordOutcome() {
        if (crashed) throw new Error('the process is gone');
      },
    };
    const firstDb = createDb(test.config);
    await queue(total);
    // The dead process's drain goes on in the background, its database gone: it claims nothing more.
    void new OutboxWorker(firstDb, clock, silent, [dying], { leaseMs, concurrency }).drain().catch(() => undefined);
    await eventually(() => crashed, 10_000, 'the crash');
    expect(crashed).toBe(true);
    // Without this, a lane of the dead process left free could claim again once the clock moves past its leases.
    await firstDb.destroy();

    // The next process, once the leases ran out.
    clock.advance(leaseMs + 1);
    const { handler, delivered } = recorder();
    await new OutboxWorker(test.db, clock, silent, [handler], { leaseMs, concurrency }).drain();

    const repeated = delivered.filter((n) => sentByFirst.includes(n));
    expect(repeated.length).toBeGreaterThan(0);
    expect(repeated.length).toBeLessThanOrEqual(concurrency);
    expect(new Set([...sentByFirst, ...delivered]).size).toBe(total);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect((await rows()).every((r) => r.state === 'done')).toBe(true);
  });

  it('drain claims batch after batch, and stops after a batch that settled nothing', async () => {
    const { handler, delivered } = recorder(async (item) => {
      await sleep(1);
      if (payloadN(item) >= 30) throw new Error('refused');
    });
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { batchSize: 10 });
    await queue(50);
    expect(await worker.drain()).toEqual({ settled: 30, delivered: 30, cancelled: 0, refused: 0, failed: 10, lastError: 'refused' });
    expect(delivered).toHaveLength(30);
    const after = await rows();
    // Items 30–39 were tried (a batch in which nothing settled ends the drain), 40–49 not yet.
    expect(after.slice(30, 40).every((r) => r.state === 'pending' && r.attempts === 1 && r.last_error === 'refused')).toBe(true);
    expect(after.slice(40).every((r) => r.attempts === 0)).toBe(true);
  });

  it('a slow delivery holds only its own lane: the next batch is claimed as soon as a lane is free, not when the slow one ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { handler, delivered } = recorder(async (item) => {
      if (payloadN(item) === 0) await gate;
    });
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { batchSize: 2, concurrency: 2 });
    await queue(7);
    const drained = worker.drain();
    await eventually(() => delivered.length === 6, 10_000, 'the six others delivered');
    expect([...delivered].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    release();
    expect(await drained).toMatchObject({ settled: 7, delivered: 7 });
    expect((await rows()).every((r) => r.state === 'done' && Number(r.attempts) === 1)).toBe(true);
  });

  it('a claim that fails while deliveries are under way (the database away for a moment) does not abandon them: the pass records them and claims again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let claimsFail = false;
    let failedClaims = 0;
    const { handler, delivered } = recorder(async (item) => {
      if (payloadN(item) === 0) await gate;
      // Item 1 settles while item 0 is still under way: the next claim comes now, and fails twice.
      if (payloadN(item) === 1) claimsFail = true;
    });
    // The claim asks each handler first whether its kind is on hold: a way to make the claim itself fail.
    handler.heldUntil = () => {
      if (!claimsFail || failedClaims === 2) return undefined;
      failedClaims++;
      throw new Error('the database cannot be reached');
    };
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { batchSize: 2, concurrency: 3, pollIntervalMs: 20 });
    await queue(5);
    const drained = worker.drain();
    await eventually(() => failedClaims === 2 && delivered.length === 4, 10_000, 'two failed claims, then the others delivered');
    release();
    expect(await drained).toMatchObject({ settled: 5, delivered: 5 });
    expect([...delivered].sort()).toEqual([0, 1, 2, 3, 4]);
    expect((await rows()).map((r) => [r.state, Number(r.attempts)])).toEqual(Array(5).fill(['done', 1]));
  });

  it('does not start an item whose lease ran out while it waited its turn (another worker may hold it now)', async () => {
    const leaseMs = 30_000;
    const { handler, delivered } = recorder(() => clock.advance(leaseMs + 1)); // each delivery outlasts a lease
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { leaseMs, concurrency: 1 });
    await queue(3);
    expect(await worker.runOnce()).toBe(1);
    expect(delivered).toEqual([0]);
    expect((await rows()).map((r) => [r.state, r.attempts])).toEqual([['done', 1], ['pending', 1], ['pending', 1]]);
  });

  it('still delivers an item whose lease ends at this very instant: no claim could take it yet, so none is stranded', async () => {
    const leaseMs = 30_000;
    const { handler, delivered } = recorder(() => clock.advance(leaseMs)); // each delivery takes exactly a lease
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { leaseMs, concurrency: 1 });
    await queue(3);
    // Item 1's lease ends as its turn comes: still ours. Item 2's ended a lease before: left to the next claim.
    expect(await worker.runOnce()).toBe(2);
    expect(delivered).toEqual([0, 1]);
    expect((await rows()).map((r) => [r.state, r.attempts])).toEqual([['done', 1], ['done', 1], ['pending', 1]]);
    // With the clock standing still (as a test's manual clock does), the next pass takes it up.
    clock.advance(1);
    expect(await worker.runOnce()).toBe(1);
    expect(delivered).toEqual([0, 1, 2]);
  });

  it('never claims back an item it is still delivering or recording, even when that item\'s lease ran out meanwhile', async () => {
    const leaseMs = 30_000;
    // Each delivery outlasts the lease (the clock moves on).
    const { handler, delivered } = recorder(() => clock.advance(leaseMs + 1));
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { leaseMs, batchSize: 1, concurrency: 1 });
    await queue(4);
    expect(await worker.drain()).toMatchObject({ delivered: 4 });
    expect(delivered).toEqual([0, 1, 2, 3]);
    expect((await rows()).map((r) => [r.state, r.attempts])).toEqual(Array(4).fill(['done', 1]));
  });

  it('stopping mid-batch finishes the deliveries under way and gives the rest of the batch back, due at once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let underWay = false;
    const { handler, delivered } = recorder(async (_item, call) => {
      if (call > 1) return;
      underWay = true;
      await gate;
    });
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { concurrency: 1, batchSize: 10 });
    await queue(10);
    worker.start();
    await eventually(() => underWay, 10_000, 'a delivery under way');
    expect(underWay).toBe(true);
    const stopped = worker.stop();
    release();
    await stopped;
    expect(delivered).toEqual([0]);
    const left = (await rows()).filter((r) => r.state === 'pending');
    expect(left).toHaveLength(9);
    // Not left to the lease, and not counted as tried.
    expect(left.every((r) => r.locked_until === null && Number(r.attempts) === 0)).toBe(true);
    // Another instance (or the next start) takes them at once, without waiting for any lease.
    const other = recorder();
    await new OutboxWorker(test.db, clock, silent, [other.handler], { batchSize: 10 }).drain();
    expect(other.delivered.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('the running worker (start/stop) picks up queued items by itself and stops cleanly', async () => {
    const { handler, delivered } = recorder();
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { pollIntervalMs: 20 });
    await queue(3);
    worker.start();
    try {
      await eventually(() => delivered.length >= 3, 10_000, 'three delivered');
      expect(delivered.sort()).toEqual([0, 1, 2]);
      await queue(1);
      worker.wake();
      await eventually(() => delivered.length >= 4, 10_000, 'four delivered');
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

describe('OutboxWorker on PostgreSQL', () => {
  let test: TestDatabase;
  afterEach(() => test.destroy());

  it('skips a row another transaction holds (a revoke under way) instead of waiting for it, and claims the rest at once', async () => {
    test = await createTestDatabase('pg');
    const clock = new ManualClock();
    await inTransaction(test.db, (trx) => enqueue(trx, clock.now(), Array.from({ length: 5 }, (_, i) => ({ kind: KIND, payload: { n: i } }))));
    const [first] = await test.db<OutboxRow>('outbox').orderBy('id').limit(1);
    const delivered: number[] = [];
    const handler: OutboxHandler = {
      kind: KIND,
      async deliver(item) {
        delivered.push(item.id);
        return { result: 'done' };
      },
    };
    const holder = await test.db.transaction();
    try {
      await holder('outbox').where({ id: first!.id }).update({ last_error: 'held' });
      const worker = new OutboxWorker(test.db, clock, silent, [handler]);
      const settled = await Promise.race([worker.runOnce(), sleep(5_000).then(() => 'waited')]);
      expect(settled).toBe(4);
      expect(delivered).not.toContain(Number(first!.id));
    } finally {
      await holder.rollback();
    }
    // Released, it is claimed by the next pass.
    expect(await new OutboxWorker(test.db, clock, silent, [handler]).runOnce()).toBe(1);
    expect(delivered).toContain(Number(first!.id));
  });
});
