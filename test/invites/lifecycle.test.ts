import { describe, expect, it } from 'vitest';
import { InvalidInput, InvitationAccepted, InvitationExpired, InvitationNotExpired, InvitationRevoked, NotFound, SentAgainSinceShown } from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import { CLI, DAY, invitationRow, inviteOne, inState, PASSWORD, SLACK_ADMIN, snapshot, TTL, useWorld } from './fixtures.js';

describe.each(DIALECTS)('invitation lifecycle (%s)', (dialect) => {
  const world = useWorld(dialect);

  describe('state transitions and refusals', () => {
    it.each([
      ['pending', null],
      ['expired', InvitationExpired],
      ['revoked', InvitationRevoked],
      ['accepted', InvitationAccepted],
    ] as const)('resend of a %s invitation', async (state, error) => {
      const w = world();
      const { id } = await inState(w, state);
      const before = await snapshot(w);
      if (error) {
        await expect(w.invites.resend(id, SLACK_ADMIN)).rejects.toBeInstanceOf(error);
        expect(await snapshot(w)).toEqual(before);
      } else {
        expect((await w.invites.resend(id, SLACK_ADMIN)).status).toBe('pending');
      }
    });

    it.each([
      ['expired', null],
      ['pending', InvitationNotExpired],
      ['revoked', InvitationRevoked],
      ['accepted', InvitationAccepted],
    ] as const)('renew of a %s invitation', async (state, error) => {
      const w = world();
      const { id } = await inState(w, state);
      const before = await snapshot(w);
      if (error) {
        await expect(w.invites.renew(id, SLACK_ADMIN)).rejects.toBeInstanceOf(error);
        expect(await snapshot(w)).toEqual(before);
      } else {
        const renewed = await w.invites.renew(id, SLACK_ADMIN);
        expect(renewed).toMatchObject({ status: 'pending', expiresAt: w.clock.now() + TTL, sendCount: 2 });
      }
    });

    it.each([
      ['pending', null],
      ['expired', null],
      ['revoked', InvitationRevoked],
      ['accepted', InvitationAccepted],
    ] as const)('revoke of a %s invitation', async (state, error) => {
      const w = world();
      const { id, token } = await inState(w, state);
      const before = await snapshot(w);
      if (error) {
        await expect(w.invites.revoke(id, SLACK_ADMIN)).rejects.toBeInstanceOf(error);
        expect(await snapshot(w)).toEqual(before);
      } else {
        const revoked = await w.invites.revoke(id, SLACK_ADMIN);
        expect(revoked).toMatchObject({ status: 'revoked', revokedAt: w.clock.now(), revokedBy: 'slack:U123ADMIN' });
        expect((await w.invites.get(id)).status).toBe('revoked');
        // The link stops working at once, with its own error.
        await expect(w.invites.lookupToken(token)).rejects.toBeInstanceOf(InvitationRevoked);
        await expect(w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: PASSWORD })).rejects.toBeInstanceOf(InvitationRevoked);
      }
    });

    it.each([
      ['pending', null],
      ['expired', InvitationExpired],
      ['revoked', InvitationRevoked],
      ['accepted', InvitationAccepted],
    ] as const)('copyLink of a %s invitation', async (state, error) => {
      const w = world();
      const { id, token } = await inState(w, state);
      if (error) await expect(w.invites.copyLink(id)).rejects.toBeInstanceOf(error);
      else expect((await w.invites.copyLink(id)).link).toBe(`http://doorman.test/invite?token=${token}`);
    });

    it('unknown ids are NotFound for every change', async () => {
      const w = world();
      for (const id of ['invite_01ZZZZZZZZZZZZZZZZZZZZZZZZ', 'nonsense', "invite_' OR 1=1"]) {
        await expect(w.invites.get(id)).rejects.toBeInstanceOf(NotFound);
        await expect(w.invites.resend(id, CLI)).rejects.toBeInstanceOf(NotFound);
        await expect(w.invites.renew(id, CLI)).rejects.toBeInstanceOf(NotFound);
        await expect(w.invites.revoke(id, CLI)).rejects.toBeInstanceOf(NotFound);
        await expect(w.invites.copyLink(id)).rejects.toBeInstanceOf(NotFound);
      }
    });

    it('resend extends expires_at to now + TTL and counts the send', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'jane@x.io');
      const invitedAt = w.clock.now();
      w.clock.advance(5 * DAY + 123);
      const resent = await w.invites.resend(id, SLACK_ADMIN);
      expect(resent.expiresAt).toBe(w.clock.now() + TTL);
      expect(resent.expiresAt).toBeGreaterThan(invitedAt + TTL);
      const row = await invitationRow(w.db, id);
      expect(Number(row.expires_at)).toBe(w.clock.now() + TTL);
      expect(Number(row.last_sent_at)).toBe(w.clock.now());
      expect(Number(row.send_count)).toBe(2);
      expect(Number(row.created_at)).toBe(invitedAt);
      // Still live after the original expiry, dead after the new one.
      w.clock.advance(3 * DAY);
      expect((await w.invites.get(id)).status).toBe('pending');
      w.clock.advance(4 * DAY);
      expect((await w.invites.get(id)).status).toBe('expired');
    });

    it('an invitation is expired exactly at expires_at', async () => {
      const w = world();
      const { id, token } = await inviteOne(w, 'jane@x.io');
      w.clock.advance(TTL - 1);
      expect((await w.invites.lookupToken(token)).status).toBe('pending');
      w.clock.advance(1);
      await expect(w.invites.lookupToken(token)).rejects.toBeInstanceOf(InvitationExpired);
      await expect(w.invites.resend(id, CLI)).rejects.toBeInstanceOf(InvitationExpired);
    });

    it('setRole changes the role of a live invitation and keeps the link', async () => {
      const w = world();
      const { id, token } = await inviteOne(w, 'jane@x.io');
      expect((await w.invites.setRole(id, 'admin', CLI)).role).toBe('admin');
      await expect(w.invites.setRole(id, 'boss' as never, SLACK_ADMIN)).rejects.toBeInstanceOf(InvalidInput);
      const { member } = await w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: PASSWORD });
      expect(member.role).toBe('admin');
    });

    it('revoke as shown is decided under the row\'s lock: a sending that commits while the revoke waits for it is seen, and nothing is revoked', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'locked@x.io');
      const shown = (await w.invites.get(id)).lastSentAt;
      // A colleague's sending holds the row (and, on SQLite, the one connection) while the revoke starts.
      const colleague = await w.db.transaction();
      await colleague('invitations').where({ id }).forUpdate().first();
      await colleague('invitations').where({ id }).update({ last_sent_at: shown + 1_000, updated_at: shown + 1_000 });
      // Its refusal may come while the colleague's commit is awaited: caught from the start, not left unhandled.
      const revoking = w.invites.revoke(id, SLACK_ADMIN, { unlessSentAfter: shown }).then(() => 'revoked', (error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 150));
      await colleague.commit();
      expect(await revoking).toMatchObject({ code: 'sent_again', status: 'pending' });
      expect((await invitationRow(w.db, id)).status).toBe('pending');
    });

    it('revoke as shown: an open invitation sent again since the moment shown is refused and unchanged; one shown after its sending, or expired again, is revoked', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'shown@x.io');
      const shown = (await w.invites.get(id)).lastSentAt;
      w.clock.advance(1000);
      await w.invites.resend(id, SLACK_ADMIN);
      const before = await snapshot(w);
      await expect(w.invites.revoke(id, SLACK_ADMIN, { unlessSentAfter: shown })).rejects.toThrow(SentAgainSinceShown);
      expect(await snapshot(w)).toEqual(before);
      // Shown at its latest sending: revoked.
      const latest = (await w.invites.get(id)).lastSentAt;
      expect((await w.invites.revoke(id, SLACK_ADMIN, { unlessSentAfter: latest })).status).toBe('revoked');
      // Sent again since, but expired by now: nothing open to keep, so it is revoked.
      const other = await inviteOne(w, 'lapsed@x.io');
      const otherShown = (await w.invites.get(other.id)).lastSentAt;
      w.clock.advance(1000);
      await w.invites.resend(other.id, SLACK_ADMIN);
      w.clock.advance(TTL);
      expect((await w.invites.revoke(other.id, SLACK_ADMIN, { unlessSentAfter: otherShown })).status).toBe('revoked');
    });
  });
});
