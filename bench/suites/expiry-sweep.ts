import { chunked, type Db } from '../../src/db/index.js';
import { ExpirySweep } from '../../src/jobs/expiry-sweep.js';
import type { BenchOptions } from '../lib/options.js';
import { median, round, type SuiteResult } from '../lib/stats.js';

const DAY = 24 * 3_600_000;

/** `count` pending invitations that expired in the last hour and were not announced yet. */
async function addDue(db: Db, count: number, now: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => {
    const created = now - 7 * DAY - 3_600_000 + i;
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
      reminder_notified_at: created + 6 * DAY,
    };
  });
  await db.transaction(async (trx) => {
    for (const chunk of chunked(rows, 500)) await trx('invitations').insert(chunk);
  });
}

async function measure(db: Db, due: number, runs: number): Promise<number[]> {
  const now = Date.now();
  await addDue(db, due, now);
  const [{ max } = { max: 0 }] = await db('outbox').max<{ max: number | null }[]>({ max: 'id' });
  const sweep = new ExpirySweep(db, { now: () => now }, { bootstrapAdmins: ['U0ADMIN'], reminderMs: DAY });
  // Setup: whatever else became due since seeding (seeded rows expire as minutes pass) is claimed
  // once here, so each measured run finds exactly the rows added above.
  await sweep.run();
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Every run finds the same work: the due rows unannounced, no notices queued yet.
    await db('invitations').where('id', 'like', 'invite_D%').update({ expiry_notified_at: null });
    await db('outbox').where('id', '>', max ?? 0).delete();
    const started = performance.now();
    const result = await sweep.run();
    times.push(performance.now() - started);
    if (result.expired !== due) throw new Error(`expiry sweep: claimed ${result.expired} of ${due} due`);
  }
  return times;
}

/** The same sweep (10,000 newly due) among a small table and a large one: it must not care which. */
export async function expirySweepSuite(options: BenchOptions, small: { db: Db; rows: number }, large: { db: Db; rows: number }): Promise<SuiteResult> {
  const due = options.quick ? 1_000 : 10_000;
  const runs = options.runs;
  const smallTimes = await measure(small.db, due, runs);
  const largeTimes = await measure(large.db, due, runs);
  const ratio = median(largeTimes) / median(smallTimes);
  return {
    suite: 'expiry sweep',
    how: `${due.toLocaleString('en')} newly due (pending, expired in the last hour, not announced) among ${small.rows.toLocaleString('en')} and among ${large.rows.toLocaleString('en')} stored invitations; one sweep claims them all and queues the notices. "floor" is the smaller table.`,
    runs,
    rows: [
      { metric: 'sweep (ms)', floor: round(median(smallTimes)), doorman: round(median(largeTimes)), ratio: round(ratio, 2), goal: '≤ 1.3×', pass: ratio <= 1.3 },
      { metric: `sweep among ${large.rows.toLocaleString('en')} (ms)`, doorman: round(median(largeTimes)), goal: '≤ 1,000 ms', pass: median(largeTimes) <= 1_000 },
    ],
  };
}
