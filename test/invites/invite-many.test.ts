import { describe, expect, it } from 'vitest';
import type { InviteEmailPayload } from '../../src/invites/service.js';
import { INVITE_EMAIL } from '../../src/invites/service.js';
import { InvalidInput } from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import { auditFor, CLI, countRows, currentToken, DAY, invitationByEmail, invitationRow, inviteOne, outboxFor, SLACK_ADMIN, snapshot, TTL, useWorld } from './fixtures.js';

describe.each(DIALECTS)('inviteMany (%s)', (dialect) => {
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
      expect(mail.map((r) => (JSON.parse(r.payload) as InviteEmailPayload).reason)).toEqual(inOrder.map((e) => (expiredIds.has(e) ? 'renew' : 'invite')));
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
      expect(audit).toEqual({ id: expect.any(Number), at: now, actor_type: 'member', actor_id: ann.id, actor_name: 'Ann', action: 'invite', subject_type: 'invitation', subject_id: row.id, details: JSON.stringify({ email: 'a@x.io', role: 'member' }) });
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
});
