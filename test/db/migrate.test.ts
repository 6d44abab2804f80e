import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { migrate } from '../../src/db/migrations.js';
import { migrationSource } from '../../src/db/migrations.js';
import * as renewNamedOnce from '../../migrations/20261207_0025_renew_named_once.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/db.js';

describe.each(DIALECTS)('migrate (%s)', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('leaves an up-to-date database alone: it starts even while the migration lock is held (a migration running elsewhere, or one that crashed)', async () => {
    await t.db('knex_migrations_lock').update({ is_locked: 1 });
    try {
      expect(await migrate(t.db)).toEqual([]);
    } finally {
      await t.db('knex_migrations_lock').update({ is_locked: 0 });
    }
  });

  it('brings a database that is behind up to date', async () => {
    const [last] = (await t.db('knex_migrations').orderBy('id', 'desc').limit(1).pluck('name')) as string[];
    await t.db.migrate.down({ migrationSource });
    expect(await migrate(t.db)).toEqual([last]);
    expect(await migrate(t.db)).toEqual([]);
  });

  it('0017 releases the Slack links deactivated members still held, and leaves active members\' alone', async () => {
    const now = Date.now();
    await t.db('members').insert([
      { id: 'usr_GONE17', email: 'gone17@x.io', role: 'admin', state: 'deactivated', slack_user_id: 'U0GONE17', created_at: now, updated_at: now, deactivated_at: now },
      { id: 'usr_HERE17', email: 'here17@x.io', role: 'admin', state: 'active', slack_user_id: 'U0HERE17', created_at: now, updated_at: now },
    ]);
    // More than one statement may carry on SQLite (500 terms in a compound SELECT).
    const many = Array.from({ length: 600 }, (_, i) => ({ id: `usr_MANY${i}`, email: `many${i}@x.io`, role: 'member', state: 'deactivated', slack_user_id: `U0MANY${i}`, created_at: now, updated_at: now, deactivated_at: now }));
    for (let i = 0; i < many.length; i += 50) await t.db('members').insert(many.slice(i, i + 50));
    await t.db('knex_migrations').where({ name: '20261206_0017_release_deactivated_slack_links' }).delete();
    expect(await migrate(t.db)).toEqual(['20261206_0017_release_deactivated_slack_links']);
    expect(await t.db('members').whereIn('id', ['usr_GONE17', 'usr_HERE17']).orderBy('id').select('id', 'slack_user_id')).toEqual([
      { id: 'usr_GONE17', slack_user_id: null },
      { id: 'usr_HERE17', slack_user_id: 'U0HERE17' },
    ]);
    // Each release is in the member's history, with the Slack user they held.
    const released = (await t.db('audit_log').whereIn('subject_id', ['usr_GONE17', 'usr_HERE17']).select('subject_id', 'action', 'actor_type', 'details')) as Array<{ subject_id: string; action: string; actor_type: string; details: string }>;
    expect(released.map((r) => [r.subject_id, r.action, r.actor_type, JSON.parse(r.details)])).toEqual([['usr_GONE17', 'slack_unlink', 'system', { slackUserId: null, previous: 'U0GONE17' }]]);
    expect(Number((await t.db('members').where('id', 'like', 'usr_MANY%').whereNotNull('slack_user_id').count({ n: '*' }))[0]!.n)).toBe(0);
    expect(Number((await t.db('audit_log').where('subject_id', 'like', 'usr_MANY%').where({ action: 'slack_unlink' }).count({ n: '*' }))[0]!.n)).toBe(600);
  });

  it('0023 counts the invitations again into the tallies, which an upgrade through 0004 beside running instances could leave off', async () => {
    const now = Date.now();
    const invitation = (i: number, status: string) => ({ id: `inv_TALLY${i}`, email: `tally${i}@x.io`, role: 'member', status, token_hash: `tally-${i}`, token_nonce: `nonce-${i}`, expires_at: now + 86_400_000, created_at: now, updated_at: now, last_sent_at: now });
    await t.db('invitations').insert([invitation(1, 'pending'), invitation(2, 'pending'), invitation(3, 'revoked')]);
    const counted = async () => Object.fromEntries(((await t.db('invitations').select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: number | string }>).map((r) => [r.status, Number(r.n)]));
    const tallied = async () => Object.fromEntries(((await t.db('invitation_tallies').where('n', '<>', 0).select('status', 'n')) as Array<{ status: string; n: number | string }>).map((r) => [r.status, Number(r.n)]));
    expect(await tallied()).toEqual(await counted());
    // Off as 0004 could leave them: rows it never counted, a status whose rows all moved on.
    await t.db('invitation_tallies').where({ status: 'pending' }).decrement('n', 2);
    await t.db('invitation_tallies').where({ status: 'accepted' }).increment('n', 5);
    expect(await tallied()).not.toEqual(await counted());
    await t.db('knex_migrations').where({ name: '20261207_0023_recount_invitation_tallies' }).delete();
    expect(await migrate(t.db)).toEqual(['20261207_0023_recount_invitation_tallies']);
    expect(await tallied()).toEqual(await counted());
    expect(await tallied()).toMatchObject({ pending: 2, revoked: 1 });
  });

  it('0025 names Send new invitation `renew` in the audit log and in the emails still queued, and back on the way down', async () => {
    const now = Date.now();
    await t.db('audit_log').insert({ at: now, actor_type: 'system', actor_id: 'cli', action: 'new_invitation', subject_type: 'invitation', subject_id: 'inv_RENEW25' });
    const payload = (reason: string) => JSON.stringify({ invitationId: 'inv_RENEW25', nonce: 'nonce25', reason });
    await t.db('outbox').insert([
      { kind: 'invite_email', invitation_id: 'inv_RENEW25', payload: payload('new_invitation'), next_attempt_at: now, created_at: now },
      { kind: 'invite_email', invitation_id: 'inv_RENEW25', payload: payload('resend'), next_attempt_at: now, created_at: now },
    ]);
    const stored = async () => ({
      audit: (await t.db('audit_log').where({ subject_id: 'inv_RENEW25' }).pluck('action')) as string[],
      reasons: ((await t.db('outbox').where({ invitation_id: 'inv_RENEW25' }).orderBy('id').pluck('payload')) as string[]).map((p) => (JSON.parse(p) as { reason: string }).reason),
    });
    await t.db('knex_migrations').where({ name: '20261207_0025_renew_named_once' }).delete();
    expect(await migrate(t.db)).toEqual(['20261207_0025_renew_named_once']);
    expect(await stored()).toEqual({ audit: ['renew'], reasons: ['renew', 'resend'] });
    await renewNamedOnce.down(t.db);
    expect(await stored()).toEqual({ audit: ['new_invitation'], reasons: ['new_invitation', 'resend'] });
    await renewNamedOnce.up(t.db);
    expect(await stored()).toEqual({ audit: ['renew'], reasons: ['renew', 'resend'] });
  });

  it('rolled back past the changes to invitations\' columns (0007) and brought up again: the tallies still count and replaced links are kept', async () => {
    const now = Date.now();
    const invitation = (id: string, status: string) => ({ id, email: `${id}@x.io`, role: 'member', status, token_hash: `hash-${id}`, token_nonce: `nonce-${id}`, expires_at: now + 86_400_000, created_at: now, updated_at: now, last_sent_at: now });
    await t.db('invitations').insert(invitation('inv_ROLL1', 'pending'));
    await t.db('replaced_links').insert({ token_hash: 'old-roll1', invitation_id: 'inv_ROLL1', replaced_at: now });
    const last = async () => ((await t.db('knex_migrations').orderBy('id', 'desc').first('name')) as { name: string }).name;
    // Past 0021 (approval requests): the links replaced before are still there (0018 made their table).
    while ((await last()) >= '20261206_0021') await t.db.migrate.down({ migrationSource });
    expect(await t.db('replaced_links').where({ token_hash: 'old-roll1' })).toHaveLength(1);
    // Past 0007: the tallies' triggers are still there once up again.
    while ((await last()) >= '20261204_0007') await t.db.migrate.down({ migrationSource });
    expect(await migrate(t.db)).toContain('20261204_0007_invitation_choices');
    await t.db('invitations').insert(invitation('inv_ROLL2', 'pending'));
    await t.db('invitations').where({ id: 'inv_ROLL1' }).update({ status: 'revoked' });
    const counted = Object.fromEntries(((await t.db('invitations').select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: number | string }>).map((r) => [r.status, Number(r.n)]));
    const tallied = Object.fromEntries(((await t.db('invitation_tallies').where('n', '<>', 0).select('status', 'n')) as Array<{ status: string; n: number | string }>).map((r) => [r.status, Number(r.n)]));
    expect(tallied).toEqual(counted);
  });

  it('instances started together on an empty database each come up: the schema is made once, and later migrations are not left locked', async () => {
    // An empty database: what the first start of several instances (or two commands) meets.
    if (dialect === 'pg') await t.db.raw('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    else {
      const tables = (await t.db('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').pluck('name')) as string[];
      await t.db.raw('PRAGMA foreign_keys = OFF');
      for (const table of tables) await t.db.schema.dropTable(table);
      await t.db.raw('PRAGMA foreign_keys = ON');
    }
    const instances: Db[] = Array.from({ length: 4 }, () => createDb(t.config));
    try {
      const applied = await Promise.all(instances.map((db) => migrate(db)));
      expect(applied.flat().sort()).toEqual((await t.db('knex_migrations').pluck('name')).sort());
      const names = (await t.db('knex_migrations').pluck('name')) as string[];
      expect(new Set(names).size).toBe(names.length);
      expect(await t.db('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
      // The next migration takes the lock as usual.
      await t.db.migrate.down({ migrationSource });
      expect(await migrate(t.db)).toHaveLength(1);
    } finally {
      await Promise.all(instances.map((db) => db.destroy()));
    }
  });
});

