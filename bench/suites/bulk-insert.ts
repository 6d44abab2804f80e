import { chunked } from '../../src/db/index.js';
import { InvitesService } from '../../src/invites/service.js';
import { issueToken } from '../../src/invites/tokens.js';
import { newId } from '../../src/shared/ids.js';
import { createTestDatabase, TEST_SECRET, type Dialect } from '../../test/support/db.js';
import type { BenchOptions } from '../lib/options.js';
import { median, round, type SuiteResult } from '../lib/stats.js';

const TTL = 7 * 24 * 3_600_000;

/** The rows invite-many writes for new addresses, built in advance for the floor. */
function invitationRows(emails: string[], now: number) {
  return emails.map((email) => {
    const token = issueToken(TEST_SECRET);
    return {
      id: newId('invite'),
      email,
      role: 'member',
      status: 'pending',
      token_hash: token.hash,
      token_nonce: token.nonce,
      expires_at: now + TTL,
      invited_by_member_id: null,
      invited_by_slack_user_id: 'U0ADMIN',
      invited_by_name: 'Bench Admin',
      created_at: now,
      updated_at: now,
      last_sent_at: now,
      send_count: 1,
      delivery_state: 'queued',
    };
  });
}

async function floorRun(dialect: Dialect, emails: string[]): Promise<number> {
  const t = await createTestDatabase(dialect);
  try {
    const rows = invitationRows(emails, Date.now());
    const started = performance.now();
    await t.db.transaction(async (trx) => {
      // As large as each dialect takes: SQLite's multi-row insert is a compound SELECT (≤ 500 terms).
      for (const chunk of chunked(rows, dialect === 'pg' ? 1_000 : 500)) await trx('invitations').insert(chunk);
    });
    return performance.now() - started;
  } finally {
    await t.destroy();
  }
}

async function doormanRun(dialect: Dialect, emails: string[]): Promise<number> {
  const t = await createTestDatabase(dialect);
  try {
    const invites = new InvitesService(t.db, { now: () => Date.now() }, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.bench', inviteTtlMs: TTL });
    const started = performance.now();
    const summary = await invites.inviteMany({ emails: emails.join('\n'), actor: { type: 'slack', slackUserId: 'U0ADMIN', name: 'Bench Admin' } });
    const ms = performance.now() - started;
    if (summary.sent.length !== emails.length) throw new Error(`bulk insert: invite-many sent ${summary.sent.length} of ${emails.length}`);
    return ms;
  } finally {
    await t.destroy();
  }
}

/** invite-many with 100,000 new addresses against a raw knex batched insert of the same rows. */
export async function bulkInsertSuite(options: BenchOptions): Promise<SuiteResult> {
  const size = options.quick ? 2_000 : 100_000;
  const runs = options.quick ? 1 : Math.min(options.runs, 3);
  const floor: number[] = [];
  const doorman: number[] = [];
  for (let run = 0; run < runs; run++) {
    const emails = Array.from({ length: size }, (_, i) => `n${run}x${i}@b.io`);
    floor.push(await floorRun(options.dialect, emails));
    doorman.push(await doormanRun(options.dialect, emails));
  }
  const rate = (ms: number) => size / (ms / 1000);
  const ratio = rate(median(doorman)) / rate(median(floor));
  return {
    suite: 'bulk insert',
    how: `invite-many with ${size.toLocaleString('en')} new addresses (parsing, checks, tokens, invitations + queued emails + audit, one transaction) against a raw knex insert of the same invitation rows, 1,000 rows per statement on PostgreSQL and 500 on SQLite (its compound-SELECT limit), in one transaction; each run on a fresh database.`,
    runs,
    rows: [
      { metric: 'addresses/s', floor: Math.round(rate(median(floor))), doorman: Math.round(rate(median(doorman))), ratio: round(ratio, 2), goal: '≥ 0.5× floor', pass: ratio >= 0.5 },
      { metric: 'time (ms)', floor: Math.round(median(floor)), doorman: Math.round(median(doorman)) },
    ],
  };
}
