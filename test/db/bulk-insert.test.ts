import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bulkInsert, PG_MAX_ROWS, SQLITE_MAX_VARIABLES } from '../../src/db/bulk-insert.js';
import type { Db } from '../../src/db/index.js';
import { NEW_AUDIT_COLUMNS, type NewAuditRow } from '../../src/audit/audit.js';
import { NEW_INVITATION_COLUMNS, type NewInvitationRow } from '../../src/invites/service.js';
import { NEW_OUTBOX_COLUMNS, type NewOutboxRow } from '../../src/outbox/outbox.js';
import { createTestDatabase, DIALECTS, watchStatements, type TestDatabase } from '../support/db.js';

// The column maps the product writes with: the tests check those, not copies of them.
type AuditRow = NewAuditRow;
const AUDIT = NEW_AUDIT_COLUMNS;
type OutboxRow = NewOutboxRow;
const OUTBOX = NEW_OUTBOX_COLUMNS;
type InvitationRow = NewInvitationRow;
const INVITATIONS = NEW_INVITATION_COLUMNS;

const NOW = Date.UTC(2026, 10, 22, 9, 0, 0);
const awkward = ['plain', `quote " and 'apostrophe'`, 'back\\slash', 'comma, {braces}', 'NULL', '', 'tab\tnew\nline', 'Zoë — 東京 🚪'];

/** Audit rows; unless told to vary, `at`, the actor, the action and the subject type are the same in all. */
function auditRows(n: number, vary: { at?: boolean; actor?: boolean; all?: boolean } = {}): AuditRow[] {
  return Array.from({ length: n }, (_, i) => ({
    at: vary.at || vary.all ? NOW + i : NOW,
    actor_type: vary.actor || vary.all ? (i % 2 ? 'slack' : 'member') : 'slack',
    actor_id: vary.actor || vary.all ? (i % 3 ? `U${i}` : null) : null,
    actor_name: vary.actor || vary.all ? (i % 4 ? awkward[i % awkward.length]! : null) : null,
    action: vary.all && i % 2 ? 'resend' : 'invite',
    subject_type: vary.all && i % 2 ? 'member' : 'invitation',
    subject_id: `invite_${String(i).padStart(6, '0')}`,
    details: i % 5 === 0 ? null : JSON.stringify({ email: `p${i}@x.io`, note: awkward[i % awkward.length] }),
  }));
}

function invitationRows(n: number, prefix: string): InvitationRow[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `invite_${prefix}${i}`,
    email: `${prefix}${i}@x.io`,
    role: i % 4 === 0 ? 'admin' : 'member',
    status: 'pending',
    token_hash: `${prefix}${String(i).padStart(63 - prefix.length, '0')}`,
    token_nonce: `nonce${i}`,
    expires_at: NOW + 7 * 86_400_000,
    invited_by_member_id: null,
    invited_by_slack_user_id: i % 2 ? 'U0ADMIN' : null,
    invited_by_name: awkward[i % awkward.length]!,
    created_at: NOW,
    updated_at: NOW,
    last_sent_at: NOW,
    send_count: 1,
    delivery_state: 'queued',
    ttl_ms: i % 3 ? null : 30 * 86_400_000,
    message: i % 2 ? null : `Welcome, ${awkward[i % awkward.length]!}`,
  }));
}

/** Every stored row of `table` in id order, without the columns named, and (SQLite) each value's storage class. */
async function stored(db: Db, table: string, dialect: string, columns: readonly string[], without: readonly string[] = []) {
  const kept = columns.filter((c) => !without.includes(c));
  const rows = (await db(table).select(kept).orderBy('id')) as Array<Record<string, unknown>>;
  if (dialect !== 'sqlite') return { rows };
  const types = await db.raw(`SELECT ${kept.map((c) => `typeof(${c}) AS ${c}`).join(', ')} FROM ${table} ORDER BY id`);
  return { rows, types };
}

/** How many INSERT statements `work` sends. */
async function insertsSent(db: Db, work: () => Promise<void>): Promise<number> {
  const watch = watchStatements(db);
  try {
    await work();
  } finally {
    watch.stop();
  }
  return watch.sql().filter((sql) => /^\s*insert\b/i.test(sql)).length;
}

describe.each(DIALECTS)('bulkInsert (%s)', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.destroy();
  });
  beforeEach(async () => {
    for (const table of ['audit_log', 'outbox', 'invitations']) await t.db(table).del();
  });

  it('stores the same values, of the same types, as a knex insert (audit rows, nulls constant and varying)', async () => {
    const rows = auditRows(50, { actor: true });
    await t.db('audit_log').insert(rows);
    const viaKnex = await stored(t.db, 'audit_log', dialect, ['id', ...Object.keys(AUDIT)], ['id']);
    await t.db('audit_log').del();
    await bulkInsert(t.db, 'audit_log', AUDIT, rows);
    const viaBulk = await stored(t.db, 'audit_log', dialect, ['id', ...Object.keys(AUDIT)], ['id']);
    expect(viaBulk).toEqual(viaKnex);
    expect(viaBulk.rows[0]).toEqual({ ...rows[0], at: NOW });
    expect(typeof viaBulk.rows[0]!.at).toBe('number');
  });

  it('stores the same values, of the same types, as a knex insert (invitations, in a transaction)', async () => {
    const rows = invitationRows(40, 'a');
    await t.db.transaction((trx) => trx('invitations').insert(rows).then(() => undefined));
    const columns = ['id', ...Object.keys(INVITATIONS), 'accepted_at', 'metadata'];
    const viaKnex = await stored(t.db, 'invitations', dialect, columns);
    await t.db('invitations').del();
    await t.db.transaction((trx) => bulkInsert(trx, 'invitations', INVITATIONS, rows));
    expect(await stored(t.db, 'invitations', dialect, columns)).toEqual(viaKnex);
    const tallies = await t.db('invitation_tallies').where({ status: 'pending' }).first();
    expect(Number(tallies.n)).toBe(40);
  });

  it('stores the same outbox rows as a knex insert, numbers as numbers', async () => {
    const rows: OutboxRow[] = Array.from({ length: 30 }, (_, i) => ({
      kind: 'invite_email',
      state: 'pending',
      dedupe_key: null,
      target: null,
      invitation_id: i % 7 === 0 ? null : `invite_${i}`,
      payload: JSON.stringify({ invitationId: `invite_${i}`, nonce: awkward[i % awkward.length], reason: 'invite' }),
      attempts: 0,
      next_attempt_at: NOW + (i % 3),
      created_at: NOW,
    }));
    const columns = ['id', ...Object.keys(OUTBOX), 'locked_until', 'last_error', 'done_at'];
    await t.db('outbox').insert(rows);
    const viaKnex = await stored(t.db, 'outbox', dialect, columns, ['id']);
    await t.db('outbox').del();
    await bulkInsert(t.db, 'outbox', OUTBOX, rows);
    const viaBulk = await stored(t.db, 'outbox', dialect, columns, ['id']);
    expect(viaBulk).toEqual(viaKnex);
    expect(viaBulk.rows[1]).toMatchObject({ attempts: 0, next_attempt_at: NOW + 1, locked_until: null });
  });

  it('keeps the order given (serial ids follow it) and stores undefined as NULL', async () => {
    const rows = auditRows(300, { at: true }).map((row, i) => ({ ...row, details: i % 2 ? row.details : undefined }) as unknown as AuditRow);
    await bulkInsert(t.db, 'audit_log', AUDIT, rows);
    const back = (await t.db('audit_log').select('subject_id', 'details').orderBy('id')) as Array<{ subject_id: string; details: string | null }>;
    expect(back.map((r) => r.subject_id)).toEqual(rows.map((r) => r.subject_id));
    expect(back.map((r) => r.details)).toEqual(rows.map((r) => r.details ?? null));
    expect(back.filter((r) => r.details === null).length).toBeGreaterThan(100);
  });

  it('inserts one row, and nothing (no statement) for no rows', async () => {
    expect(await insertsSent(t.db, () => bulkInsert(t.db, 'audit_log', AUDIT, []))).toBe(0);
    await bulkInsert(t.db, 'audit_log', AUDIT, auditRows(1));
    expect(await t.db('audit_log').select(Object.keys(AUDIT))).toEqual(auditRows(1));
  });

  it('bigints up to 2^53 − 1 round-trip exactly', async () => {
    const rows = auditRows(3).map((row, i) => ({ ...row, at: [0, 8_640_000_000_000_000, Number.MAX_SAFE_INTEGER][i]! }));
    await bulkInsert(t.db, 'audit_log', AUDIT, rows);
    expect((await t.db('audit_log').select('at').orderBy('id')).map((r: { at: number }) => r.at)).toEqual([0, 8_640_000_000_000_000, Number.MAX_SAFE_INTEGER]);
  });

  // Past what one statement may carry (SQLite's bound variables, PostgreSQL's parameters): every
  // row is stored, in order. How the rows are split is the module's business, not the test's.
  it(`stores more rows than one statement may carry, in order (SQLite's ${SQLITE_MAX_VARIABLES.toLocaleString('en')} variables, ${PG_MAX_ROWS.toLocaleString('en')} rows a PostgreSQL statement)`, async () => {
    const allVarying = Math.floor(SQLITE_MAX_VARIABLES / 7) + 1;
    const twoVarying = 2 * Math.floor((SQLITE_MAX_VARIABLES - 5) / 2) + 1;
    for (const rows of [auditRows(allVarying, { all: true }), auditRows(twoVarying), auditRows(PG_MAX_ROWS + 1, { at: true })]) {
      await t.db('audit_log').del();
      await bulkInsert(t.db, 'audit_log', AUDIT, rows);
      const back = (await t.db('audit_log').select('subject_id').orderBy('id')) as Array<{ subject_id: string }>;
      expect(back.map((r) => r.subject_id)).toEqual(rows.map((r) => r.subject_id));
    }
  }, 60_000);

  it('with ignoreConflictOn, skips rows whose key is stored or repeated, as knex onConflict().ignore() does', async () => {
    const message = (key: string | null, payload: string): OutboxRow => ({
      kind: 'slack_message',
      state: 'pending',
      dedupe_key: key,
      invitation_id: null,
      target: null,
      payload,
      attempts: 0,
      next_attempt_at: NOW,
      created_at: NOW,
    });
    const first = [message('k1', 'first k1')];
    const second = [message('k1', 'second k1'), message('k2', 'first k2'), message(null, 'no key a'), message('k2', 'second k2'), message(null, 'no key b')];
    const columns = ['id', ...Object.keys(OUTBOX)];

    await t.db('outbox').insert(first);
    await t.db('outbox').insert(second).onConflict('dedupe_key').ignore();
    const viaKnex = await stored(t.db, 'outbox', dialect, columns, ['id']);
    await t.db('outbox').del();

    await bulkInsert(t.db, 'outbox', OUTBOX, first, { ignoreConflictOn: 'dedupe_key' });
    await bulkInsert(t.db, 'outbox', OUTBOX, second, { ignoreConflictOn: 'dedupe_key' });
    const viaBulk = await stored(t.db, 'outbox', dialect, columns, ['id']);
    expect(viaBulk).toEqual(viaKnex);
    expect(viaBulk.rows.map((r) => r.payload)).toEqual(['first k1', 'first k2', 'no key a', 'no key b']);
    // Without it, a stored key is refused.
    await expect(bulkInsert(t.db, 'outbox', OUTBOX, [message('k1', 'again')])).rejects.toThrow();
  });

  it('refuses a table or column name that is not a plain identifier', async () => {
    await expect(bulkInsert(t.db, 'audit_log; drop table x', AUDIT, auditRows(1))).rejects.toThrow(/plain/);
    await expect(bulkInsert(t.db, 'audit_log', { ...AUDIT, 'at"': 'bigint' } as never, auditRows(1))).rejects.toThrow(/plain/);
  });
});
