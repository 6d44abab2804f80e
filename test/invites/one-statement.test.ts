import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { InvitesService } from '../../src/invites/service.js';
import { INVITE_EMAIL } from '../../src/invites/sending.js';
import { AlreadyMember } from '../../src/shared/errors.js';
import { SETTINGS, SLACK_ADMIN, countRows, invitationByEmail, invitationRow, inviteOne, useWorld } from './fixtures.js';

/** Until some statement of this database waits for a lock another transaction holds. */
async function someoneWaits(db: Db): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = (await db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)) as { rows: Array<{ n: number }> };
    if (rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no statement waited for the lock');
}

// PostgreSQL changes one invitation in one statement (one-statement.ts); under READ COMMITTED a
// statement that waited for a row sees the rest of the database as it was when it started.
describe('one-statement changes racing another transaction (pg)', () => {
  const world = useWorld('pg');

  it('create, resend and revoke in one statement keep the actor\'s name with their audit entries', async () => {
    const w = world();
    const { invitation } = await w.invites.inviteOne({ email: 'named@x.io', role: 'member', actor: SLACK_ADMIN });
    await w.invites.resend(invitation.id, SLACK_ADMIN);
    await w.invites.revoke(invitation.id, SLACK_ADMIN);
    const audit = (await w.db('audit_log').where({ subject_id: invitation.id }).orderBy('id').select('action', 'actor_id', 'actor_name')) as Array<Record<string, unknown>>;
    expect(audit).toEqual(['invite', 'resend', 'revoke'].map((action) => ({ action, actor_id: 'U123ADMIN', actor_name: 'Ada Admin' })));
  });

  it('inviting an address while its invitation is being accepted: refused as a member, no second invitation', async () => {
    const w = world();
    const { id } = await inviteOne(w, 'jane@x.io');
    const trx = await w.db.transaction();
    let invited: Promise<unknown>;
    try {
      // What an accept writes, its commit held back.
      const now = w.clock.now();
      await trx('invitations').where({ id }).update({ status: 'accepted', accepted_at: now, updated_at: now });
      await w.members.admit(trx, { email: 'jane@x.io', role: 'member', firstName: 'Jane', lastName: 'Doe', passwordHash: 'x' }, now);
      invited = w.invites.inviteOne({ email: 'jane@x.io', role: 'member', actor: SLACK_ADMIN }).then(
        (result) => result,
        (error: unknown) => error,
      );
      await someoneWaits(w.db);
    } finally {
      await trx.commit();
    }
    expect(await invited).toBeInstanceOf(AlreadyMember);
    expect((await invitationByEmail(w.db, 'jane@x.io')).map((row) => row.status)).toEqual(['accepted']);
  });

  it('two Resends at once, the last email already sent: one email more, not two', async () => {
    const w = world();
    const { id } = await inviteOne(w, 'bob@x.io');
    await w.db('outbox').where({ invitation_id: id }).update({ state: 'done', done_at: w.clock.now() });
    const trx = await w.db.transaction();
    let second: ReturnType<typeof w.invites.resend>;
    try {
      // The first Resend, its commit held back.
      await new InvitesService(trx as unknown as Db, w.clock, SETTINGS).resend(id, SLACK_ADMIN);
      second = w.invites.resend(id, SLACK_ADMIN);
      await someoneWaits(w.db);
    } finally {
      await trx.commit();
    }
    expect((await second).sendCount).toBe(3);
    expect(await countRows(w.db, 'outbox', { invitation_id: id, kind: INVITE_EMAIL, state: 'pending' })).toBe(1);
    expect(Number((await invitationRow(w.db, id)).send_count)).toBe(3);
  });
});
