import { describe, expect, it } from 'vitest';
import type { InviteEmailPayload } from '../../src/invites/service.js';
import { INVITE_EMAIL } from '../../src/invites/service.js';
import { InvitesService } from '../../src/invites/service.js';
import { Scrypt } from '../../src/members/passwords.js';
import type { MemberRow } from '../../src/members/service.js';
import {
  AlreadyMember,
  DomainError,
  InvalidInput,
  InvitationAccepted,
  InvitationExpired,
  InvitationNotExpired,
  InvitationRevoked,
  NotFound,
  UnknownToken,
  WeakPassword,
} from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import {
  auditFor,
  CLI,
  countRows,
  currentToken,
  DAY,
  invitationByEmail,
  invitationRow,
  inviteOne,
  outboxFor,
  PASSWORD,
  SETTINGS,
  SLACK_ADMIN,
  TTL,
  useWorld,
  type World,
} from './fixtures.js';

/** Brings an invitation into each shown state. */
async function inState(w: World, state: 'pending' | 'expired' | 'accepted' | 'revoked', email = `${state}@x.io`): Promise<{ id: string; token: string }> {
  const invited = await inviteOne(w, email);
  if (state === 'expired') w.clock.advance(TTL);
  if (state === 'accepted') await w.invites.accept({ token: invited.token, firstName: 'A', lastName: 'B', password: PASSWORD });
  if (state === 'revoked') await w.invites.revoke(invited.id, CLI);
  return invited;
}

async function snapshot(w: World) {
  const [invitations, members, outbox, audit] = await Promise.all(
    ['invitations', 'members', 'outbox', 'audit_log'].map((table) => w.db(table).select('*').orderBy(table === 'outbox' || table === 'audit_log' ? 'id' : 'id')),
  );
  return { invitations, members, outbox, audit };
}

describe.each(DIALECTS)('InvitesService (%s)', (dialect) => {
  const world = useWorld(dialect);

  describe('inviteMany (email lists, skips)', () => {
    it('invites new addresses and answers with one summary', async () => {
      const w = world();
      const summary = await w.invites.inviteMany({ emails: 'Jane Doe <Jane@X.io>\nbob@y.io; nonsense', role: 'developer', actor: SLACK_ADMIN });
      expect(summary.sent).toEqual(['jane@x.io', 'bob@y.io']);
      expect(summary.renewed).toEqual([]);
      expect(summary.alreadyMember).toEqual([]);
      expect(summary.alreadyInvited).toEqual([]);
      expect(summary.invalid).toEqual([{ entry: 'nonsense', reason: expect.any(String) }]);
      expect(summary.invitationIds).toHaveLength(2);
      const jane = await w.invites.get(summary.invitationIds[0]!);
      expect(jane).toMatchObject({
        email: 'jane@x.io',
        role: 'developer',
        status: 'pending',
        expiresAt: w.clock.now() + TTL,
        createdAt: w.clock.now(),
        lastSentAt: w.clock.now(),
        sendCount: 1,
        invitedBy: { memberId: null, slackUserId: 'U123ADMIN', name: 'Ada Admin' },
      });
    });

    it('defaults the role to member and refuses unknown roles', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'jane@x.io');
      expect((await w.invites.get(id)).role).toBe('member');
      await expect(w.invites.inviteMany({ emails: 'bob@y.io', role: 'owner' as never, actor: CLI })).rejects.toBeInstanceOf(InvalidInput);
      expect(await countRows(w.db, 'invitations')).toBe(1);
    });

    it('refuses an empty list, and reports a list of only invalid entries without inviting', async () => {
      const w = world();
      await expect(w.invites.inviteMany({ emails: ' \n, ; ', actor: CLI })).rejects.toBeInstanceOf(InvalidInput);
      const summary = await w.invites.inviteMany({ emails: 'foo, bar@baz', actor: CLI });
      expect(summary.sent).toEqual([]);
      expect(summary.invalid.map((i) => i.entry)).toEqual(['foo', 'bar@baz']);
      expect(await countRows(w.db, 'invitations')).toBe(0);
      expect(await countRows(w.db, 'outbox')).toBe(0);
    });

    it('applies every skip rule in one call', async () => {
      const w = world();
      await w.members.create({ email: 'Member@X.io' }, CLI);
      const gone = await w.members.create({ email: 'gone@x.io' }, CLI);
      await w.members.deactivate(gone.member.id, CLI);
      const live = await inviteOne(w, 'live@x.io');
      const old = await inviteOne(w, 'old@x.io');
      const revoked = await inviteOne(w, 'revoked@x.io');
      await w.invites.revoke(revoked.id, CLI);
      w.clock.advance(TTL - DAY);
      await w.invites.resend(live.id, CLI); // live again for a full TTL; old expires
      w.clock.advance(DAY);

      const summary = await w.invites.inviteMany({
        emails: 'MEMBER@x.io, Live@X.io, old@x.io, gone@x.io, revoked@x.io, new@x.io, new@X.IO, @bad',
        actor: SLACK_ADMIN,
      });
      expect(summary.alreadyMember).toEqual(['member@x.io']);
      expect(summary.alreadyInvited).toEqual([{ email: 'live@x.io', invitationId: live.id }]);
      expect(summary.renewed).toEqual(['old@x.io']);
      expect(summary.sent).toEqual(['gone@x.io', 'revoked@x.io', 'new@x.io']);
      expect(summary.invalid).toEqual([{ entry: '@bad', reason: expect.any(String) }]);
      expect(summary.invitationIds).toHaveLength(4);
      expect(summary.invitationIds[3]).toBe(old.id);

      // The expired invitation is the same one with a new link and a new expiry.
      const renewed = await w.invites.get(old.id);
      expect(renewed).toMatchObject({ status: 'pending', expiresAt: w.clock.now() + TTL, sendCount: 2, lastSentAt: w.clock.now() });
      expect(await currentToken(w.db, old.id)).not.toBe(old.token);
      // The live one is untouched.
      expect((await w.invites.get(live.id)).sendCount).toBe(2);
      // The revoked one stays revoked; a new one sits beside it.
      const revokedRows = await invitationByEmail(w.db, 'revoked@x.io');
      expect(revokedRows.map((r) => r.status)).toEqual(['revoked', 'pending']);
      // At most one pending invitation per email.
      const pending = await w.db('invitations').where({ status: 'pending' }).select('email');
      expect(new Set(pending.map((r: { email: string }) => r.email)).size).toBe(pending.length);
    });

    it('compares emails case-insensitively against invitations and members', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'Jane@X.io');
      expect((await w.invites.get(id)).email).toBe('jane@x.io');
      const again = await w.invites.inviteMany({ emails: 'jane@x.io JANE@x.IO', actor: CLI });
      expect(again.sent).toEqual([]);
      expect(again.alreadyInvited).toEqual([{ email: 'jane@x.io', invitationId: id }]);
      await w.members.create({ email: 'BOB@Y.IO' }, CLI);
      expect((await w.invites.inviteMany({ emails: 'Bob@y.io', actor: CLI })).alreadyMember).toEqual(['bob@y.io']);
    });

    it('runs in one transaction: a failure half-way writes nothing', async () => {
      const w = world();
      const before = await inviteOne(w, 'first@x.io');
      w.clock.advance(TTL); // first@ is now expired and would be renewed
      const snap = await snapshot(w);
      // The audit rows are written last: make that step fail after the invitations and mail are in.
      await w.db.schema.renameTable('audit_log', 'audit_log_away');
      const emails = ['first@x.io', ...Array.from({ length: 900 }, (_, i) => `user${i}@x.io`)];
      await expect(w.invites.inviteMany({ emails, actor: CLI })).rejects.toThrow();
      await w.db.schema.renameTable('audit_log_away', 'audit_log');
      expect(await snapshot(w)).toEqual(snap);
      expect(await currentToken(w.db, before.id)).toBe(before.token);
    });

    it('invites 10,000 addresses in one call', async () => {
      const w = world();
      const emails = Array.from({ length: 10_000 }, (_, i) => `person${i}@bulk.example.com`).join('\n');
      const started = Date.now();
      const summary = await w.invites.inviteMany({ emails, actor: CLI });
      const elapsed = Date.now() - started;
      expect(summary.sent).toHaveLength(10_000);
      expect(new Set(summary.invitationIds).size).toBe(10_000);
      expect(await countRows(w.db, 'invitations', { status: 'pending' })).toBe(10_000);
      expect(await countRows(w.db, 'outbox', { kind: INVITE_EMAIL })).toBe(10_000);
      expect(await countRows(w.db, 'audit_log', { action: 'invite' })).toBe(10_000);
      expect(elapsed).toBeLessThan(15_000);
      // A second pass finds all of them already invited.
      const again = await w.invites.inviteMany({ emails, actor: CLI });
      expect(again.alreadyInvited).toHaveLength(10_000);
      expect(again.sent).toHaveLength(0);
    }, 60_000);

    it('applies every skip rule across batches, and writes mail and audit rows in the order of the list', async () => {
      const w = world();
      // invite-many works in batches of 2,000 addresses: put each case at a batch's edges.
      const emails = Array.from({ length: 4_500 }, (_, i) => `p${i}@x.io`);
      const member = [0, 1_999, 2_000];
      const live = [1, 3_999, 4_000];
      const expired = [2, 2_001, 4_499];
      for (const i of member) await w.members.create({ email: emails[i]! }, CLI);
      const expiredIds = new Map<string, string>();
      for (const i of expired) expiredIds.set(emails[i]!, (await inviteOne(w, emails[i]!)).id);
      w.clock.advance(TTL);
      const liveIds = new Map<string, string>();
      for (const i of live) liveIds.set(emails[i]!, (await inviteOne(w, emails[i]!)).id);
      const auditBefore = await countRows(w.db, 'audit_log');
      const outboxBefore = await countRows(w.db, 'outbox');

      const summary = await w.invites.inviteMany({ emails: [...emails, 'nonsense'], role: 'developer', actor: SLACK_ADMIN });
      const skipped = new Set([...member, ...live, ...expired].map((i) => emails[i]!));
      expect(summary.alreadyMember).toEqual(member.map((i) => emails[i]));
      expect(summary.alreadyInvited).toEqual(live.map((i) => ({ email: emails[i], invitationId: liveIds.get(emails[i]!) })));
      expect(summary.renewed).toEqual(expired.map((i) => emails[i]));
      expect(summary.sent).toEqual(emails.filter((e) => !skipped.has(e)));
      expect(summary.invalid).toEqual([{ entry: 'nonsense', reason: expect.any(String) }]);
      expect(summary.invitationIds.slice(-3)).toEqual(expired.map((i) => expiredIds.get(emails[i]!)));
      expect(new Set(summary.invitationIds).size).toBe(4_500 - 6);

      // Mail and audit rows, in the order of the list: new and renewed interleaved as they came.
      const inOrder = emails.filter((e) => !member.concat(live).some((i) => emails[i] === e));
      const idOf = new Map([...summary.sent.map((e, i) => [e, summary.invitationIds[i]!] as const), ...expiredIds]);
      const mail = (await w.db('outbox').where('id', '>', 0).orderBy('id').offset(outboxBefore)) as Array<{ invitation_id: string; payload: string }>;
      expect(mail.map((r) => r.invitation_id)).toEqual(inOrder.map((e) => idOf.get(e)));
      expect(mail.map((r) => (JSON.parse(r.payload) as InviteEmailPayload).reason)).toEqual(inOrder.map((e) => (expiredIds.has(e) ? 'new_invitation' : 'invite')));
      const audit = (await w.db('audit_log').orderBy('id').offset(auditBefore)) as Array<{ subject_id: string; action: string; details: string; actor_id: string }>;
      expect(audit.map((r) => r.subject_id)).toEqual(inOrder.map((e) => idOf.get(e)));
      expect(audit.map((r) => JSON.parse(r.details))).toEqual(inOrder.map((email) => ({ email, role: 'developer' })));
      expect(new Set(audit.map((r) => r.actor_id))).toEqual(new Set(['U123ADMIN']));

      // Renewed rows carry the new role and the inviter, like new ones.
      for (const id of expiredIds.values()) expect(await w.invites.get(id)).toMatchObject({ status: 'pending', role: 'developer', sendCount: 2 });
      expect(await countRows(w.db, 'invitations', { status: 'pending' })).toBe(4_500 - 3);
      expect(Number((await w.db('invitation_tallies').where({ status: 'pending' }).first()).n)).toBe(4_500 - 3);
    }, 60_000);

    it('stores new invitations, their mail and audit rows with the types the readers expect', async () => {
      const w = world();
      const { member: ann } = await w.members.create({ email: 'ann@x.io' }, CLI);
      const summary = await w.invites.inviteMany({ emails: 'a@x.io, b@x.io', actor: { type: 'member', memberId: ann.id, name: 'Ann' } });
      const now = w.clock.now();
      const row = await invitationRow(w.db, summary.invitationIds[0]!);
      expect(row).toEqual({
        id: summary.invitationIds[0],
        email: 'a@x.io',
        role: 'member',
        status: 'pending',
        token_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        token_nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        expires_at: now + TTL,
        invited_by_member_id: ann.id,
        invited_by_slack_user_id: null,
        invited_by_name: 'Ann',
        created_at: now,
        updated_at: now,
        last_sent_at: now,
        send_count: 1,
        accepted_at: null,
        accepted_member_id: null,
        revoked_at: null,
        revoked_by: null,
        delivery_state: 'queued',
        delivery_error: null,
        metadata: null,
        ttl_ms: null,
        message: null,
        approval_reasons: null,
        decided_at: null,
        decided_by: null,
        decided_by_name: null,
        decision: null,
        deny_reason: null,
        approval_request_id: null,
      });
      const [mail] = await outboxFor(w.db, row.id);
      expect(mail).toEqual({
        id: expect.any(Number),
        kind: INVITE_EMAIL,
        state: 'pending',
        dedupe_key: null,
        invitation_id: row.id,
        target: null,
        payload: JSON.stringify({ invitationId: row.id, nonce: row.token_nonce, reason: 'invite' }),
        attempts: 0,
        failures: 0,
        next_attempt_at: now,
        locked_until: null,
        last_error: null,
        created_at: now,
        done_at: null,
      });
      const [audit] = await auditFor(w.db, row.id);
      expect(audit).toEqual({ id: expect.any(Number), at: now, actor_type: 'member', actor_id: ann.id, action: 'invite', subject_type: 'invitation', subject_id: row.id, details: JSON.stringify({ email: 'a@x.io', role: 'member' }) });
      if (dialect === 'sqlite') {
        const types = await w.db.raw(`SELECT typeof(expires_at) AS e, typeof(send_count) AS s, typeof(invited_by_slack_user_id) AS n FROM invitations`);
        expect(types).toEqual([
          { e: 'integer', s: 'integer', n: 'null' },
          { e: 'integer', s: 'integer', n: 'null' },
        ]);
        expect(await w.db.raw(`SELECT DISTINCT typeof(attempts) AS a, typeof(next_attempt_at) AS t FROM outbox`)).toEqual([{ a: 'integer', t: 'integer' }]);
        expect(await w.db.raw(`SELECT DISTINCT typeof(at) AS a FROM audit_log WHERE action = 'invite'`)).toEqual([{ a: 'integer' }]);
      }
    });

    it('a failure in a later step of a long list writes nothing and reports the first error', async () => {
      const w = world();
      const before = await inviteOne(w, 'first@x.io');
      w.clock.advance(TTL);
      const snap = await snapshot(w);
      await w.db.schema.renameTable('audit_log', 'audit_log_away');
      // Several batches: later batches are queued behind the failing audit insert of the first.
      const emails = ['first@x.io', ...Array.from({ length: 5_000 }, (_, i) => `user${i}@x.io`)];
      await expect(w.invites.inviteMany({ emails, actor: CLI })).rejects.toThrow(/audit_log/);
      await w.db.schema.renameTable('audit_log_away', 'audit_log');
      expect(await snapshot(w)).toEqual(snap);
      expect(await currentToken(w.db, before.id)).toBe(before.token);
      // The database is usable at once.
      expect((await w.invites.inviteMany({ emails: 'next@x.io', actor: CLI })).sent).toEqual(['next@x.io']);
    }, 60_000);

    it('concurrent calls with overlapping lists never make two pending invitations for one email', async () => {
      const w = world();
      const lists = Array.from({ length: 6 }, (_, k) => Array.from({ length: 30 }, (_, i) => `p${(i + k * 7) % 60}@x.io`));
      const results = await Promise.allSettled(lists.map((emails) => w.invites.inviteMany({ emails, actor: CLI })));
      const failures = results.filter((r) => r.status === 'rejected');
      expect(failures).toEqual([]);
      const summaries = results.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof w.invites.inviteMany>>>).value);
      const sent = summaries.flatMap((s) => s.sent);
      const distinct = new Set(lists.flat());
      expect(sent.sort()).toEqual([...distinct].sort());
      expect(await countRows(w.db, 'invitations', { status: 'pending' })).toBe(distinct.size);
      expect(await countRows(w.db, 'outbox')).toBe(distinct.size);
      for (const s of summaries) expect(s.sent.length + s.alreadyInvited.length).toBe(30);
    });

    it('the database itself refuses a second pending invitation for an email', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'jane@x.io');
      const row = await invitationRow(w.db, id);
      await expect(w.db('invitations').insert({ ...row, id: 'invite_DUPLICATE', token_hash: 'f'.repeat(64) })).rejects.toThrow();
    });
  });

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
    ] as const)('sendNewInvitation of a %s invitation', async (state, error) => {
      const w = world();
      const { id } = await inState(w, state);
      const before = await snapshot(w);
      if (error) {
        await expect(w.invites.sendNewInvitation(id, SLACK_ADMIN)).rejects.toBeInstanceOf(error);
        expect(await snapshot(w)).toEqual(before);
      } else {
        const renewed = await w.invites.sendNewInvitation(id, SLACK_ADMIN);
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
        await expect(w.invites.sendNewInvitation(id, CLI)).rejects.toBeInstanceOf(NotFound);
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
  });

    it('revoke as shown: an open invitation sent again since the moment shown comes back unchanged; one shown after its sending, or expired again, is revoked', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'shown@x.io');
      const shown = (await w.invites.get(id)).lastSentAt;
      w.clock.advance(1000);
      await w.invites.resend(id, SLACK_ADMIN);
      const before = await snapshot(w);
      const unchanged = await w.invites.revoke(id, SLACK_ADMIN, { unlessSentAfter: shown });
      expect(unchanged.status).toBe('pending');
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

    it('refuses an unknown link and changes nothing', async () => {
      const w = world();
      await inviteOne(w, 'jane@x.io');
      const before = await snapshot(w);
      await expect(w.invites.accept({ token: 'A'.repeat(43), firstName: 'Jane', lastName: 'Doe', password: PASSWORD })).rejects.toBeInstanceOf(UnknownToken);
      await expect(w.invites.accept({ token: 'short', firstName: 'Jane', lastName: 'Doe', password: PASSWORD })).rejects.toBeInstanceOf(UnknownToken);
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
      await w.invites.sendNewInvitation(live.id, CLI);
      await w.members.create({ email: 'live@x.io', role: 'member' }, CLI);
      await w.members.create({ email: 'lapsed@x.io', role: 'member' }, CLI);
      const before = await snapshot(w);
      await expect(w.invites.resend(live.id, SLACK_ADMIN)).rejects.toBeInstanceOf(AlreadyMember);
      await expect(w.invites.sendNewInvitation(lapsed.id, SLACK_ADMIN)).rejects.toBeInstanceOf(AlreadyMember);
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
      await w.invites.sendNewInvitation(id, CLI);
      const secondNonce = (await invitationRow(w.db, id)).token_nonce;
      rows = await outboxFor(w.db, id);
      expect(rows.map((r) => r.state)).toEqual(['done', 'cancelled', 'pending']);
      expect(payloadOf(rows[2]!)).toEqual({ invitationId: id, nonce: secondNonce, reason: 'new_invitation' });
      expect(secondNonce).not.toBe(firstNonce);

      w.clock.advance(TTL);
      await w.invites.inviteMany({ emails: 'jane@x.io', actor: CLI });
      rows = await outboxFor(w.db, id);
      expect(rows.map((r) => r.state)).toEqual(['done', 'cancelled', 'cancelled', 'pending']);
      expect(payloadOf(rows[3]!)).toMatchObject({ invitationId: id, reason: 'new_invitation' });
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
      await expect(w.invites.sendNewInvitation(id, CLI)).rejects.toThrow();
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
      await w.invites.sendNewInvitation(id, CLI);
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
        { action: 'new_invitation', actor_type: 'system', actor_id: 'cli', at: t0 + 1000 + TTL, subject_type: 'invitation' },
        { action: 'accept', actor_type: 'member', actor_id: member.id, at: t0 + 2000 + TTL, subject_type: 'invitation' },
        { action: 'invite', actor_type: 'slack', actor_id: 'U123ADMIN', at: t0 + 2000 + TTL, subject_type: 'invitation' },
        { action: 'revoke', actor_type: 'system', actor_id: null, at: t0 + 3000 + TTL, subject_type: 'invitation' },
      ]);
      expect(JSON.parse(rows[0]!.details!)).toMatchObject({ email: 'jane@x.io', role: 'member' });
    });

    it('records a renewal through inviteMany as new_invitation', async () => {
      const w = world();
      const { id } = await inviteOne(w, 'jane@x.io');
      w.clock.advance(TTL);
      await w.invites.inviteMany({ emails: 'jane@x.io', actor: CLI });
      expect((await auditFor(w.db, id)).map((r) => r.action)).toEqual(['invite', 'new_invitation']);
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
