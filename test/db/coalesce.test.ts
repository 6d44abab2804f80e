import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadCoalescer } from '../../src/db/coalesce.js';
import { inTransaction } from '../../src/db/index.js';
import { InvitesService } from '../../src/invites/service.js';
import { createTestDatabase, DIALECTS, TEST_SECRET, type TestDatabase } from '../support/db.js';

/** A read whose answer we release by hand, counting how many times it really ran. */
function gatedRead(db: TestDatabase['db']) {
  let runs = 0;
  const gates: Array<() => void> = [];
  const read = async () => {
    runs++;
    await new Promise<void>((resolve) => gates.push(resolve));
    return Number((await db('slack_dedupe').count<{ n: number }[]>({ n: '*' }))[0]!.n);
  };
  return {
    read,
    get runs() {
      return runs;
    },
    release: async () => {
      for (let spins = 0; gates.length === 0; spins++) {
        if (spins > 2_000) throw new Error('no read is waiting to be released (a caller shared a read it must not)');
        await new Promise((resolve) => setImmediate(resolve));
      }
      gates.shift()!();
    },
  };
}

describe.each(DIALECTS)('sharing reads (%s)', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('callers asking while a read runs share it, when no write finished since it began', async () => {
    const reads = new ReadCoalescer(t.db);
    const g = gatedRead(t.db);
    const a = reads.run('k', g.read);
    const b = reads.run('k', g.read);
    const c = reads.run('k', g.read);
    await g.release();
    expect(await Promise.all([a, b, c])).toEqual([0, 0, 0]);
    expect(g.runs).toBe(1);
    // Answered and not kept: the next caller reads again.
    const d = reads.run('k', g.read);
    await g.release();
    await d;
    expect(g.runs).toBe(2);
  });

  it('a caller never shares a read older than a write this process finished: it waits for a new one', async () => {
    const reads = new ReadCoalescer(t.db);
    const g = gatedRead(t.db);
    const before = reads.run('k', g.read);
    await t.db('slack_dedupe').insert({ key: 'w1', created_at: 1 });
    const after1 = reads.run('k', g.read);
    const after2 = reads.run('k', g.read);
    await g.release();
    await g.release();
    const [old, fresh1, fresh2] = await Promise.all([before, after1, after2]);
    expect(g.runs).toBe(2);
    expect(fresh1).toBe(fresh2);
    expect(fresh1).toBeGreaterThanOrEqual(old);
    expect(fresh1).toBeGreaterThan(0);
  });

  it('a transaction counts as a write when it ends, committed or not', async () => {
    const reads = new ReadCoalescer(t.db);
    const g = gatedRead(t.db);
    const first = reads.run('k', g.read);
    await inTransaction(t.db, async (trx) => {
      await trx('slack_dedupe').insert({ key: 'w2', created_at: 1 });
    });
    const second = reads.run('k', g.read);
    await g.release();
    await g.release();
    const n = await second;
    await first;
    expect(g.runs).toBe(2);
    expect(n).toBe(Number((await t.db('slack_dedupe').count<{ n: number }[]>({ n: '*' }))[0]!.n));

    const third = reads.run('k', g.read);
    await expect(inTransaction(t.db, async () => Promise.reject(new Error('rolled back')))).rejects.toThrow('rolled back');
    const fourth = reads.run('k', g.read);
    await g.release();
    await g.release();
    await Promise.all([third, fourth]);
    expect(g.runs).toBe(4);
  });

  it('with reuseForMs an answer serves later callers for that long, and not after a write', async () => {
    let now = 1_000;
    const reads = new ReadCoalescer(t.db, { reuseForMs: 250, now: () => now });
    const g = gatedRead(t.db);
    const a = reads.run('k', g.read);
    await g.release();
    await a;
    now += 200;
    await reads.run('k', g.read);
    expect(g.runs).toBe(1);
    now += 100;
    const stale = reads.run('k', g.read);
    await g.release();
    await stale;
    expect(g.runs).toBe(2);
    await t.db('slack_dedupe').insert({ key: 'w3', created_at: 1 });
    const afterWrite = reads.run('k', g.read);
    await g.release();
    await afterWrite;
    expect(g.runs).toBe(3);
  });

  it('with refreshAfterMs a caller is served the kept answer while a new read runs behind it, which then takes its place', async () => {
    let now = 1_000;
    const reads = new ReadCoalescer(t.db, { reuseForMs: 250, refreshAfterMs: 100, now: () => now });
    let value = 1;
    let runs = 0;
    const gates: Array<() => void> = [];
    const read = async () => {
      runs++;
      const answer = value;
      await new Promise<void>((resolve) => gates.push(resolve));
      return answer;
    };
    const open = async () => {
      while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
      gates.shift()!();
    };
    const first = reads.run('k', read);
    await open();
    expect(await first).toBe(1);
    value = 2;
    now += 50;
    expect(await reads.run('k', read)).toBe(1);
    expect(runs).toBe(1);
    // Old enough to refresh: this caller still gets the kept answer at once; a read starts behind it.
    now += 60;
    expect(await reads.run('k', read)).toBe(1);
    expect(runs).toBe(2);
    // Only one refresh at a time.
    expect(await reads.run('k', read)).toBe(1);
    expect(runs).toBe(2);
    await open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await reads.run('k', read)).toBe(2);
    expect(runs).toBe(2);
    // Past its time nothing kept is served: a caller waits for a read of its own (or joins one).
    now += 300;
    value = 3;
    const late = reads.run('k', read);
    const later = reads.run('k', read);
    await open();
    expect(await Promise.all([late, later])).toEqual([3, 3]);
    expect(runs).toBe(3);
  });

  it('a failed read is not shared with later callers', async () => {
    const reads = new ReadCoalescer(t.db, { reuseForMs: 10_000 });
    let runs = 0;
    await expect(reads.run('k', async () => (++runs, Promise.reject(new Error('boom'))))).rejects.toThrow('boom');
    expect(await reads.run('k', async () => ++runs)).toBe(2);
  });

  it('without a database to watch, a caller never shares a read that began before it asked', async () => {
    const reads = new ReadCoalescer();
    const g = gatedRead(t.db);
    const a = reads.run('k', g.read);
    const b = reads.run('k', g.read);
    const c = reads.run('k', g.read);
    await g.release();
    await g.release();
    await Promise.all([a, b, c]);
    // b and c shared the read that waited for a's.
    expect(g.runs).toBe(2);
  });

  it('the Invitations list shows the caller the invitation it just made, with identical reads under way', async () => {
    const invites = new InvitesService(t.db, { now: () => Date.now() }, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 3_600_000 });
    const actor = { type: 'system' as const, name: 'test' };
    const query = { status: 'pending' as const, limit: 5 };
    const base = (await invites.listWithCounts(query)).counts.pending;
    for (let i = 0; i < 5; i++) {
      // A read under way when the invitation is written must not answer the caller who wrote it.
      const busy = Array.from({ length: 5 }, () => invites.listWithCounts(query));
      await invites.inviteMany({ emails: `share${dialect}${i}@corp.test`, actor });
      const mine = await invites.listWithCounts(query);
      expect(mine.counts.pending).toBe(base + i + 1);
      expect(mine.invitations.map((x) => x.email)).toContain(`share${dialect}${i}@corp.test`);
      await Promise.all(busy);
    }
  });
});
