import { describe, expect, it } from 'vitest';
import { InvitesService } from '../../src/invites/service.js';
import { Scrypt } from '../../src/members/passwords.js';
import type { MemberRow } from '../../src/members/service.js';
import { AlreadyMember, DomainError, InvalidInput, InvitationAccepted, InvitationExpired, InvitationRevoked, UnknownToken, WeakPassword } from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import { auditFor, CLI, countRows, DAY, invitationByEmail, inviteOne, inState, PASSWORD, SETTINGS, SLACK_ADMIN, snapshot, TTL, useWorld } from './fixtures.js';

describe.each(DIALECTS)('accept (%s)', (dialect) => {
  const world = useWorld(dialect);

  describe('accept', () => {
    it('creates the member with the invitation role and a scrypt hash of logN ≥ 15', async () => {
      const w = world();
      const { id, token } = await inviteOne(w, 'Jane@X.io', 'developer');
      const invitation = await w.invites.lookupToken(token);
      expect(invitation).toMatchObject({ id, email: 'jane@x.io', status: 'pending' });
      expect(await countRows(w.db, 'members')).toBe(0); // looking changes nothing

      w.clock.advance(DAY);
      const result = await w.invites.accept({ token, firstName: '  Jane ', lastName: 'Doe', password: PASSWORD });
      expect(result.member).toMatchObject({ email: 'jane@x.io', firstName: 'Jane', lastName: 'Doe', role: 'developer', state: 'active' });
      expect(result.invitation).toMatchObject({ id, status: 'accepted', acceptedAt: w.clock.now(), acceptedMemberId: result.member.id });
      expect(await w.invites.get(id)).toMatchObject({ status: 'accepted', acceptedAt: w.clock.now(), acceptedMemberId: result.member.id });

      const row = await w.db<MemberRow>('members').where({ id: result.member.id }).first();
      expect(row!.password_hash).not.toContain(PASSWORD);
      const key = Buffer.from(row!.password_hash!, 'base64');
      expect(key.subarray(0, 6).toString('latin1')).toBe('scrypt');
      const params = Scrypt.viewParams(key);
      expect(params.logN).toBeGreaterThanOrEqual(15);
      expect(key[7]).toBeGreaterThanOrEqual(15); // the header byte itself, independent of the library
      expect(await Scrypt.verify(key, PASSWORD)).toBe(true);
      expect((await w.members.verifyCredentials('JANE@x.io', PASSWORD)).id).toBe(result.member.id);
    });

    it.each([
      ['too short', 'seven77'],
      ['too long', 'x'.repeat(1025)],
      ['missing', undefined],
      ['not text', 12345678],
    ])('refuses a %s password and changes nothing', async (_name, password) => {
      const w = world();
      const { token } = await inviteOne(w, 'jane@x.io');
      const before = await snapshot(w);
      await expect(w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password })).rejects.toBeInstanceOf(WeakPassword);
      expect(await snapshot(w)).toEqual(before);
    });

    it('takes passwords of exactly 8 and 1024 characters', async () => {
      const w = world();
      const a = await inviteOne(w, 'a@x.io');
      const b = await inviteOne(w, 'b@x.io');
      await w.invites.accept({ token: a.token, firstName: 'Jane', lastName: 'Doe', password: '12345678' });
      await w.invites.accept({ token: b.token, firstName: 'Jane', lastName: 'Doe', password: 'y'.repeat(1024) });
      expect(await countRows(w.db, 'members')).toBe(2);
    });

    it.each([
      ['expired', InvitationExpired],
      ['revoked', InvitationRevoked],
      ['accepted', InvitationAccepted],
    ] as const)('refuses an %s link with its own error and changes nothing', async (state, error) => {
      const w = world();
      const { token } = await inState(w, state);
      const before = await snapshot(w);
      await expect(w.invites.lookupToken(token)).rejects.toBeInstanceOf(error);
      await expect(w.invites.accept({ token, firstName: 'X', lastName: 'Y', password: 'another password' })).rejects.toBeInstanceOf(error);
      expect(await snapshot(w)).toEqual(before);
    });

    it.each([
      ['expired', InvitationExpired],
      ['revoked', InvitationRevoked],
      ['accepted', InvitationAccepted],
    ] as const)('answers a link that is %s with its own error before a weak password or a missing name: fixing those would not help', async (state, error) => {
      const w = world();
      const { token } = await inState(w, state);
      const before = await snapshot(w);
      await expect(w.invites.accept({ token, firstName: 'X', lastName: 'Y', password: 'short' })).rejects.toBeInstanceOf(error);
      await expect(w.invites.accept({ token, password: 'another password' })).rejects.toBeInstanceOf(error);
      expect(await snapshot(w)).toEqual(before);
    });

    it('refuses an unknown link and changes nothing', async () => {
      const w = world();
      await inviteOne(w, 'jane@x.io');
      const before = await snapshot(w);
      await expect(w.invites.accept({ token: 'A'.repeat(43), firstName: 'Jane', lastName: 'Doe', password: PASSWORD })).rejects.toBeInstanceOf(UnknownToken);
      await expect(w.invites.accept({ token: 'short', firstName: 'Jane', lastName: 'Doe', password: PASSWORD })).rejects.toBeInstanceOf(UnknownToken);
      // Whatever else is sent: the doors count an unknown link as a guess, so none goes uncounted.
      await expect(w.invites.accept({ token: 'A'.repeat(43), firstName: '', password: 'short' })).rejects.toBeInstanceOf(UnknownToken);
      expect(await snapshot(w)).toEqual(before);
    });

    it('gives each refusal its own error class and code', () => {
      const instances: DomainError[] = [new UnknownToken(), new InvitationExpired('i', 0, null), new InvitationRevoked('i'), new InvitationAccepted('i'), new AlreadyMember('a@b.io'), new WeakPassword('w')];
      expect(new Set(instances.map((e) => e.code)).size).toBe(instances.length);
      expect(new Set(instances.map((e) => e.constructor)).size).toBe(instances.length);
      for (const e of instances) expect(e).toBeInstanceOf(DomainError);
    });

    it('20 concurrent accepts of one token make exactly one member and one success', async () => {
      const w = world();
      const { id, token } = await inviteOne(w, 'jane@x.io', 'admin');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => w.invites.accept({ token, firstName: `Jane${i}`, lastName: 'Doe', password: PASSWORD })),
      );
      const wins = results.filter((r) => r.status === 'fulfilled');
      const losses = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(wins).toHaveLength(1);
      for (const loss of losses) expect(loss.reason).toBeInstanceOf(InvitationAccepted);
      expect(await countRows(w.db, 'members')).toBe(1);
      expect(await countRows(w.db, 'audit_log', { action: 'accept' })).toBe(1);
      const invitation = await w.invites.get(id);
      const member = (wins[0] as PromiseFulfilledResult<{ member: { id: string } }>).value.member;
      expect(invitation).toMatchObject({ status: 'accepted', acceptedMemberId: member.id });
    });

    it('gives the role the invitation has when the accept commits: a role changed while the password was hashed wins', async () => {
      const w = world();
      const { id, token } = await inviteOne(w, 'jane@x.io', 'admin');
      // The accept reads its link, then hashes the password (tens of ms); the role is lowered then.
      let lowered: Promise<unknown> | undefined;
      const onRead = (_response: unknown, query: { sql: string }) => {
        if (!lowered && /token_hash/.test(query.sql)) lowered = w.invites.setRole(id, 'member', CLI);
      };
      w.db.on('query-response', onRead);
      const accepted = await w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: PASSWORD }).finally(() => w.db.off('query-response', onRead));
      await lowered;
      expect(accepted.member.role).toBe('member');
      expect(accepted.invitation.role).toBe('member');
      expect((await auditFor(w.db, id)).find((a) => a.action === 'accept')?.details).toContain('"role":"member"');
    });

    it('a list naming the address while it is being accepted skips the new member (no second invitation)', async () => {
      const w = world();
      const { token } = await inviteOne(w, 'jane@x.io');
      let listed: Promise<{ sent: string[] }> | undefined;
      // The accept's transaction is held open a moment after the member is written, while a list
      // naming the same address arrives.
      const invites = new InvitesService(w.db, w.clock, {
        ...SETTINGS,
        onAccepted: async () => {
          listed = w.invites.inviteMany({ emails: 'jane@x.io', actor: SLACK_ADMIN });
          await new Promise((resolve) => setTimeout(resolve, 300));
        },
      });
      await invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: PASSWORD });
      const summary = await listed!;
      expect(summary.sent).toEqual([]);
      expect(await invitationByEmail(w.db, 'jane@x.io')).toHaveLength(1);
    });

    it('refuses an accept without a first or last name (the rule "Accept"), changing nothing', async () => {
      const w = world();
      const { token } = await inviteOne(w, 'jane@x.io');
      const before = await snapshot(w);
      for (const names of [{}, { firstName: 'Jane' }, { lastName: 'Doe' }, { firstName: '  ', lastName: 'Doe' }, { firstName: 'Jane', lastName: '' }]) {
        await expect(w.invites.accept({ token, ...names, password: PASSWORD }), JSON.stringify(names)).rejects.toThrow(/(first|last)_name is required/);
      }
      expect(await snapshot(w)).toEqual(before);
    });

    it('emails no link to an address that became a member since it was invited: resend and send new invitation refuse with AlreadyMember', async () => {
      const w = world();
      const live = await inviteOne(w, 'live@x.io');
      const lapsed = await inviteOne(w, 'lapsed@x.io');
      w.clock.advance(TTL + 1); // both expired; live@ is sent anew, so it is live again
      await w.invites.renew(live.id, CLI);
      await w.members.create({ email: 'live@x.io', role: 'member' }, CLI);
      await w.members.create({ email: 'lapsed@x.io', role: 'member' }, CLI);
      const before = await snapshot(w);
      await expect(w.invites.resend(live.id, SLACK_ADMIN)).rejects.toBeInstanceOf(AlreadyMember);
      await expect(w.invites.renew(lapsed.id, SLACK_ADMIN)).rejects.toBeInstanceOf(AlreadyMember);
      expect(await snapshot(w)).toEqual(before);
    });

    it('refuses with AlreadyMember when the email became an active member meanwhile, changing nothing', async () => {
      const w = world();
      const { id, token } = await inviteOne(w, 'jane@x.io');
      await w.members.create({ email: 'JANE@x.io', role: 'member' }, CLI);
      const before = await snapshot(w);
      await expect(w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: PASSWORD })).rejects.toBeInstanceOf(AlreadyMember);
      expect(await snapshot(w)).toEqual(before);
      expect((await w.invites.get(id)).status).toBe('pending');
    });

    it('brings a deactivated member back with the invitation role and new password', async () => {
      const w = world();
      const old = await w.members.create({ email: 'jane@x.io', role: 'developer', password: 'the old password' }, CLI);
      await w.members.deactivate(old.member.id, CLI);
      const { token } = await inviteOne(w, 'jane@x.io', 'member');
      const { member } = await w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: PASSWORD });
      expect(member).toMatchObject({ id: old.member.id, role: 'member', state: 'active' });
      expect(await countRows(w.db, 'members')).toBe(1);
      await expect(w.members.verifyCredentials('jane@x.io', 'the old password')).rejects.toThrow();
      expect((await w.members.verifyCredentials('jane@x.io', PASSWORD)).id).toBe(old.member.id);
    });

    it('refuses names that are too long or not text, changing nothing', async () => {
      const w = world();
      const { token } = await inviteOne(w, 'jane@x.io');
      await expect(w.invites.accept({ token, firstName: 'x'.repeat(201), password: PASSWORD })).rejects.toBeInstanceOf(InvalidInput);
      await expect(w.invites.accept({ token, firstName: 'Jane', lastName: { evil: true }, password: PASSWORD })).rejects.toThrow('last_name must be text.');
      expect(await countRows(w.db, 'members')).toBe(0);
    });
  });
});
