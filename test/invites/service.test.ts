import { describe, expect, it } from 'vitest';
import type { InviteEmailPayload } from '../../src/invites/service.js';
import { INVITE_EMAIL } from '../../src/invites/service.js';
import { InvitationAccepted } from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import { auditFor, CLI, countRows, currentToken, DAY, invitationRow, inviteOne, inState, outboxFor, PASSWORD, SLACK_ADMIN, TTL, useWorld } from './fixtures.js';

describe.each(DIALECTS)('InvitesService: outbox and audit (%s)', (dialect) => {
  const world = useWorld(dialect);

  describe('outbox (delivery never loses work)', () => {
    function payloadOf(row: { payload: string }): InviteEmailPayload {
      return JSON.parse(row.payload) as InviteEmailPayload;
    }

    it('each invite, resend and new invitation queues exactly one invite email', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'jane@x.io');
      const firstNonce = (await invitationRow(w.db, id)).token_nonce;
      let rows = await outboxFor(w.db, id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ kind: INVITE_EMAIL, state: 'pending', attempts: 0, next_attempt_at: w.clock.now() });
      expect(payloadOf(rows[0]!)).toEqual({ invitationId: id, nonce: firstNonce, reason: 'invite' });

      // A resend while the email still waits hurries it rather than queueing another.
      w.clock.advance(DAY);
      await w.invites.resend(id, CLI);
      rows = await outboxFor(w.db, id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ state: 'pending', next_attempt_at: w.clock.now() });
      // Once it went out, a resend queues the same link again.
      await w.db('outbox').where({ id: rows[0]!.id }).update({ state: 'done', done_at: w.clock.now() });
      await w.invites.resend(id, CLI);
      rows = await outboxFor(w.db, id);
      expect(rows).toHaveLength(2);
      expect(payloadOf(rows[1]!)).toEqual({ invitationId: id, nonce: firstNonce, reason: 'resend' });

      // A new link: the old link's email still waiting is dropped, the new one queued.
      w.clock.advance(TTL);
      await w.invites.renew(id, CLI);
      const secondNonce = (await invitationRow(w.db, id)).token_nonce;
      rows = await outboxFor(w.db, id);
      expect(rows.map((r) => r.state)).toEqual(['done', 'cancelled', 'pending']);
      expect(payloadOf(rows[2]!)).toEqual({ invitationId: id, nonce: secondNonce, reason: 'renew' });
      expect(secondNonce).not.toBe(firstNonce);

      w.clock.advance(TTL);
      await w.invites.inviteMany({ emails: 'jane@x.io', actor: CLI });
      rows = await outboxFor(w.db, id);
      expect(rows.map((r) => r.state)).toEqual(['done', 'cancelled', 'cancelled', 'pending']);
      expect(payloadOf(rows[3]!)).toMatchObject({ invitationId: id, reason: 'renew' });
      // Skipped addresses queue nothing.
      await w.invites.inviteMany({ emails: 'jane@x.io', actor: CLI });
      expect(await outboxFor(w.db, id)).toHaveLength(4);
      expect(await countRows(w.db, 'outbox')).toBe(4);
    });

    it('the email is queued in the same transaction as the change', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'jane@x.io');
      const before = await invitationRow(w.db, id);
      await w.db.schema.renameTable('outbox', 'outbox_away');
      w.clock.advance(DAY);
      await expect(w.invites.resend(id, CLI)).rejects.toThrow();
      await expect(w.invites.inviteMany({ emails: 'bob@y.io', actor: CLI })).rejects.toThrow();
      w.clock.advance(TTL);
      await expect(w.invites.renew(id, CLI)).rejects.toThrow();
      await w.db.schema.renameTable('outbox_away', 'outbox');
      expect(await invitationRow(w.db, id)).toEqual(before);
      expect(await countRows(w.db, 'invitations')).toBe(1);
      expect(await countRows(w.db, 'audit_log')).toBe(1);
    });

    it('revoke cancels the pending emails of the invitation (and only those)', async () => {
      const w = world();
      const jane = await inviteOne(w, 'jane@x.io');
      const bob = await inviteOne(w, 'bob@y.io');
      await w.invites.revoke(jane.id, SLACK_ADMIN);
      const rows = await outboxFor(w.db, jane.id);
      expect(rows.map((r) => r.state)).toEqual(['cancelled']);
      expect((await outboxFor(w.db, bob.id)).map((r) => r.state)).toEqual(['pending']);
    });

    it('accept cancels emails still waiting', async () => {
      const w = world();
      const { id, token } = await inviteOne(w, 'jane@x.io');
      await w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: PASSWORD });
      expect((await outboxFor(w.db, id)).map((r) => r.state)).toEqual(['cancelled']);
    });
  });

  describe('audit', () => {
    it('records invite, resend, new invitation, revoke and accept with actor and time', async () => {
      const w = world();
      const t0 = w.clock.now();
      const { id } = await inviteOne(w, 'jane@x.io');
      w.clock.advance(1000);
      await w.invites.resend(id, { type: 'member', memberId: 'usr_ADMIN' });
      w.clock.advance(TTL);
      await w.invites.renew(id, CLI);
      const token = await currentToken(w.db, id);
      w.clock.advance(1000);
      const { member } = await w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: PASSWORD });
      const other = await inviteOne(w, 'bob@y.io');
      w.clock.advance(1000);
      await w.invites.revoke(other.id, { type: 'system' });

      const rows = [...(await auditFor(w.db, id)), ...(await auditFor(w.db, other.id))];
      expect(rows.map((r) => ({ action: r.action, actor_type: r.actor_type, actor_id: r.actor_id, at: Number(r.at), subject_type: r.subject_type }))).toEqual([
        { action: 'invite', actor_type: 'slack', actor_id: 'U123ADMIN', at: t0, subject_type: 'invitation' },
        { action: 'resend', actor_type: 'member', actor_id: 'usr_ADMIN', at: t0 + 1000, subject_type: 'invitation' },
        { action: 'renew', actor_type: 'system', actor_id: 'cli', at: t0 + 1000 + TTL, subject_type: 'invitation' },
        { action: 'accept', actor_type: 'member', actor_id: member.id, at: t0 + 2000 + TTL, subject_type: 'invitation' },
        { action: 'invite', actor_type: 'slack', actor_id: 'U123ADMIN', at: t0 + 2000 + TTL, subject_type: 'invitation' },
        { action: 'revoke', actor_type: 'system', actor_id: null, at: t0 + 3000 + TTL, subject_type: 'invitation' },
      ]);
      expect(JSON.parse(rows[0]!.details!)).toMatchObject({ email: 'jane@x.io', role: 'member' });
    });

    it('records a renewal through inviteMany as renew', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'jane@x.io');
      w.clock.advance(TTL);
      await w.invites.inviteMany({ emails: 'jane@x.io', actor: CLI });
      expect((await auditFor(w.db, id)).map((r) => r.action)).toEqual(['invite', 'renew']);
    });

    it('refusals record nothing', async () => {
      const w = world();
      const { id } = await inState(w, 'accepted');
      const count = await countRows(w.db, 'audit_log');
      await expect(w.invites.revoke(id, CLI)).rejects.toBeInstanceOf(InvitationAccepted);
      await expect(w.invites.resend(id, CLI)).rejects.toBeInstanceOf(InvitationAccepted);
      expect(await countRows(w.db, 'audit_log')).toBe(count);
    });
  });
});
