import { afterEach, describe, expect, it } from 'vitest';
import { ANALYZE_AFTER, InvitesService } from '../../src/invites/service.js';
import { createTestDatabase, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { CLI } from './fixtures.js';

/** What PostgreSQL's planner knows of a table's size: -1 until it was first analyzed or vacuumed. */
async function counted(test: TestDatabase, table: string): Promise<number> {
  const row = (await test.db.raw('SELECT reltuples FROM pg_class WHERE oid = ?::regclass', [table])) as { rows: Array<{ reltuples: number }> };
  return Number(row.rows[0]!.reltuples);
}

describe('a bulk list on PostgreSQL', () => {
  let test: TestDatabase;
  afterEach(() => test.destroy());

  /** A fresh database whose tables autovacuum leaves alone, so that any count is the service's. */
  const fresh = async () => {
    test = await createTestDatabase('pg');
    await test.db.raw('ALTER TABLE invitations SET (autovacuum_enabled = false); ALTER TABLE outbox SET (autovacuum_enabled = false)');
  };
  const warnings: Array<{ fields: unknown; message: string }> = [];
  const logger = { warn: (fields: unknown, message: string) => void warnings.push({ fields, message }) };
  const service = (onQueued?: () => void) => new InvitesService(test.db, new ManualClock(), { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * 86_400_000, logger: logger as never, onQueued });
  const emails = (count: number) => Array.from({ length: count }, (_, i) => `bulk${i}@example.io`);

  it(`has its rows counted for the planner at once when it queues ${ANALYZE_AFTER.toLocaleString('en')} emails or more, before the worker claims them`, async () => {
    await fresh();
    let countedWhenQueued: number | undefined;
    const invites = service(() => void counted(test, 'outbox').then((n) => (countedWhenQueued = n)));
    expect(await counted(test, 'outbox')).toBe(-1);

    const summary = await invites.inviteMany({ emails: emails(ANALYZE_AFTER), actor: CLI });

    expect(summary.sent).toHaveLength(ANALYZE_AFTER);
    await expect.poll(() => countedWhenQueued).toBe(ANALYZE_AFTER);
    expect(await counted(test, 'invitations')).toBe(ANALYZE_AFTER);
  });

  it('does not wait more than 2 s for the lock ANALYZE needs: the list is stored, the failure logged, autovacuum left to count', async () => {
    await fresh();
    warnings.length = 0;
    // A VACUUM or ANALYZE running elsewhere holds this lock (ordinary reads and writes do not).
    const holder = await test.db.transaction();
    try {
      await holder.raw('LOCK TABLE outbox IN SHARE UPDATE EXCLUSIVE MODE');
      const summary = await service().inviteMany({ emails: emails(ANALYZE_AFTER), actor: CLI });
      expect(summary.sent).toHaveLength(ANALYZE_AFTER);
    } finally {
      await holder.rollback();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/could not analyze/);
    expect(JSON.stringify(warnings[0]!.fields)).toMatch(/lock timeout/);
    expect(Number((await test.db('invitations').count({ n: '*' }).first())?.n)).toBe(ANALYZE_AFTER);
    expect(await counted(test, 'outbox')).toBe(-1);
  });

  it('leaves a smaller list to autovacuum (no extra work on each Slack paste)', async () => {
    await fresh();
    await service().inviteMany({ emails: emails(500), actor: CLI });
    expect(await counted(test, 'outbox')).toBe(-1);
    expect(await counted(test, 'invitations')).toBe(-1);
  });
});
