import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainQueries } from '../../bench/lib/explain.js';
import { seedInvitations } from '../../bench/lib/seed.js';
import { listInvitations, type SortKey, type StatusFilter } from '../../src/invites/list.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * A list's first page walks an index in the page's order and stops after a page: it costs a few
 * rows however long the history (1,000,000 rows in the benchmark). Checked on SQLite's plans, whose
 * choice between indexes has moved with its version and with unrelated indexes; over a history
 * shaped like the benchmark's (mostly accepted, old pending ones expired), analyzed as the benchmark
 * does. PostgreSQL's plans are printed by every benchmark run.
 */
describe('first pages read in index order (sqlite)', () => {
  let t: TestDatabase;
  const now = Date.UTC(2026, 11, 5);
  beforeAll(async () => {
    t = await createTestDatabase('sqlite');
    await seedInvitations(t.db, 30_000, now);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  /** The plan of the statement that reads the page's rows. */
  async function pagePlan(status: StatusFilter, sort: SortKey): Promise<string> {
    const explained = await explainQueries(t.db, 'page', () => listInvitations({ db: t.db, clock: { now: () => now }, links: { tokenFor: () => '' } } as never, { status, sort, limit: 10 }));
    return explained.find((e) => e.sql.startsWith('select * from `invitations`'))!.plan;
  }

  // Sorting open or all invitations by status ranks a computed value, and expiry order over every
  // status has no index of its own (a rare order, not worth an index on every write): those sort.
  const ONE_STATUS = ['pending', 'expired', 'awaiting_approval', 'accepted', 'revoked'] as const;
  const INDEXED: Array<[StatusFilter, SortKey]> = [
    ...([...ONE_STATUS, 'open', 'all'] as const).flatMap((s) => [[s, 'created'] as [StatusFilter, SortKey], [s, 'email'] as [StatusFilter, SortKey]]),
    ...ONE_STATUS.flatMap((s) => [[s, 'expires'] as [StatusFilter, SortKey], [s, 'status'] as [StatusFilter, SortKey]]),
  ];
  it.each(INDEXED)('%s by %s', async (status, sort) => {
    const plan = await pagePlan(status, sort);
    // A sort of the last term only (equal emails or times, ordered by id) is done page by page.
    expect(plan, plan).not.toMatch(/USE TEMP B-TREE FOR ORDER BY/);
    expect(plan).toMatch(/USING (COVERING )?INDEX/);
  });
});
