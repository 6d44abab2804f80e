import { chunked, type Db } from '../../src/db/index.js';
import { ExpirySweep, SWEEP_MARKS } from '../../src/jobs/expiry-sweep.js';
import type { BenchOptions } from '../lib/options.js';
import { median, round, type SuiteResult } from '../lib/stats.js';

const DAY = 24 * 3_600_000;
const MIN_ROUNDS = 9;

/** `count` pending invitations that expire one millisecond apart from `firstExpiry` on, sent a week earlier. */
async function addDue(db: Db, count: number, firstExpiry: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => {
    const created = firstExpiry + i - 7 * DAY;
    return {
      id: `invite_D${String(i).padStart(9, '0')}`,
      email: `due${i}@bench.example`,
      role: 'member',
      status: 'pending',
      token_hash: `due${i.toString(16).padStart(61, '0')}`,
      token_nonce: `due-nonce-${i}`,
      expires_at: created + 7 * DAY,
      invited_by_slack_user_id: i % 2 ? 'U0ADMIN' : 'U0OTHER',
      invited_by_name: 'Bench Admin',
      created_at: created,
      updated_at: created,
      last_sent_at: created,
      send_count: 1,
      delivery_state: 'sent',
    };
  });
  await db.transaction(async (trx) => {
    for (const chunk of chunked(rows, 500)) await trx('invitations').insert(chunk);
  });
}

const marks = (db: Db) => db('job_cursors').whereIn('name', Object.values(SWEEP_MARKS)) as Promise<Array<{ name: string; position: number; updated_at: number }>>;

/**
 * Sets `db` up with `due` newly due invitations; a function that runs one sweep over exactly that
 * work (the marks put back where the setup left them, the notices it queued deleted) and times it.
 */
async function prepare(db: Db, due: number): Promise<{ sweepOnce: () => Promise<number>; claimed: number }> {
  const settings = { bootstrapAdmins: ['U0ADMIN'], reminderMs: DAY };
  // Setup: whatever became due since seeding (seeded rows expire as minutes pass) is announced once
  // here; the rows added next expire just after the mark this leaves.
  const setupAt = Date.now();
  await new ExpirySweep(db, { now: () => setupAt }, settings).run();
  const before = await marks(db);
  const from = Math.max(setupAt, ...before.filter((m) => m.name === SWEEP_MARKS.expired).map((m) => Number(m.position)));
  await addDue(db, due, from + 1);
  const at = from + due;
  // Seeded invitations expire one a minute, so the window may hold one of them besides.
  const counted = (await db('invitations').where({ status: 'pending' }).where('expires_at', '>', from).where('expires_at', '<=', at).count({ n: '*' })) as Array<{ n: number | string }>;
  const n = Number(counted[0]?.n ?? 0);
  const [{ max } = { max: 0 }] = await db('outbox').max<{ max: number | null }[]>({ max: 'id' });
  const sweep = new ExpirySweep(db, { now: () => at }, settings);
  const sweepOnce = async () => {
    // Every run finds the same work: the marks where the setup left them, no notices queued yet.
    await db.transaction(async (trx) => {
      await trx('job_cursors').whereIn('name', Object.values(SWEEP_MARKS)).delete();
      if (before.length) await trx('job_cursors').insert(before);
    });
    await db('outbox').where('id', '>', max ?? 0).delete();
    const started = performance.now();
    const result = await sweep.run();
    const ms = performance.now() - started;
    if (result.expired !== n) throw new Error(`expiry sweep: claimed ${result.expired} of ${n} due`);
    return ms;
  };
  return { sweepOnce, claimed: n };
}

/** The same sweep (10,000 newly due) among a small table and a large one: it must not care which. */
export async function expirySweepSuite(options: BenchOptions, small: { db: Db; rows: number }, large: { db: Db; rows: number }): Promise<SuiteResult> {
  const due = options.quick ? 1_000 : 10_000;
  // At least 9 rounds: a sweep takes tens of milliseconds, where one hiccup of the machine or the
  // database server shows; nine cost about a second.
  const runs = options.quick ? options.runs : Math.max(options.runs, MIN_ROUNDS);
  const smallSide = { ...(await prepare(small.db, due)), times: [] as number[] };
  const largeSide = { ...(await prepare(large.db, due)), times: [] as number[] };
  // The two tables take turns, and which goes first alternates from round to round, so what the
  // database server does in the background meanwhile (autovacuum after the seeding, a checkpoint's
  // full-page writes) falls on both alike. One unmeasured round first: the first sweep on a
  // connection pays for warming caches, not for the table.
  for (let run = -1; run < runs; run++) {
    for (const side of run % 2 === 0 ? [smallSide, largeSide] : [largeSide, smallSide]) {
      const ms = await side.sweepOnce();
      if (run >= 0) side.times.push(ms);
    }
  }
  const claimed = largeSide.claimed;
  const smallTimes = smallSide.times;
  const largeTimes = largeSide.times;
  const ratio = median(largeTimes) / median(smallTimes);
  return {
    suite: 'expiry sweep',
    how: `${due.toLocaleString('en')} newly due (pending, expired since the last sweep; ${claimed.toLocaleString('en')} with the seeded ones in the same seconds) among ${small.rows.toLocaleString('en')} and among ${large.rows.toLocaleString('en')} stored invitations; one sweep claims them all and queues the notices. "floor" is the smaller table.`,
    runs,
    rows: [
      { metric: 'sweep (ms)', floor: round(median(smallTimes)), doorman: round(median(largeTimes)), ratio: round(ratio, 2), goal: '≤ 1.3×', pass: ratio <= 1.3 },
      { metric: `sweep among ${large.rows.toLocaleString('en')} (ms)`, doorman: round(median(largeTimes)), goal: '≤ 1,000 ms', pass: median(largeTimes) <= 1_000 },
    ],
    notes: [`Each round, ${small.rows.toLocaleString('en')} / ${large.rows.toLocaleString('en')} (ms): ${smallTimes.map((ms, i) => `${round(ms)} / ${round(largeTimes[i]!)}`).join(', ')}.`],
  };
}
