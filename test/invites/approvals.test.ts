import { beforeEach, describe, expect, it } from 'vitest';
import { InvitesService } from '../../src/invites/service.js';
import { createdToday } from '../../src/invites/daily-limit.js';
import { parseAllowedDomains, type InvitePolicy } from '../../src/invites/policy.js';
import type { Actor } from '../../src/shared/actor.js';
import { AlreadyDecided, ApprovalLapsed, AwaitingApproval, DailyLimitReached, InvalidInput, InvitationRevoked, NotPermitted, OwnRequest } from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import { auditFor, CLI, countRows, currentToken, DAY, invitationRow, outboxFor, SETTINGS, TTL, useWorld, type World } from './fixtures.js';

const allowed = parseAllowedDomains('acme.com, *.acme.com');
if ('problem' in allowed) throw new Error(allowed.problem);
const POLICY: InvitePolicy = { allowedDomains: allowed.patterns, dailyLimit: 3, unlimitedSlackUserIds: ['U0BOOT'] };

const ANA: Actor = { type: 'slack', slackUserId: 'U0ANA', memberId: 'usr_ana', name: 'Ana' };
const BEN: Actor = { type: 'slack', slackUserId: 'U0BEN', name: 'Ben' };
const ANA_BY_TOKEN: Actor = { type: 'member', memberId: 'usr_ana', name: 'Ana' };
const BOOT: Actor = { type: 'slack', slackUserId: 'U0BOOT', name: 'Bootstrap' };

describe.each(DIALECTS)('approvals and daily limits (%s)', (dialect) => {
  const base = useWorld(dialect);
  const world = (): World & { policy: InvitesService } => {
    const w = base();
    return { ...w, policy: new InvitesService(w.db, w.clock, { ...SETTINGS, members: w.members, policy: POLICY }) };
  };
  // Ana's member exists, so invitations can name her as the inviting member.
  beforeEach(async () => {
    await base().db('members').insert({ id: 'usr_ana', email: 'ana@acme.com', role: 'admin', state: 'active', created_at: 0, updated_at: 0 });
  });
  const emails = async (w: World, id: string) => (await outboxFor(w.db, id)).filter((r) => r.kind === 'invite_email' && r.state === 'pending');

  it('an outside address or the admin role is stored as awaiting approval, not emailed, and reported with why', async () => {
    const w = world();
    // A bootstrap admin: held like anyone, but not limited (four entries, over this policy's three a day).
    const summary = await w.policy.inviteMany({ emails: 'in@acme.com, out@other.io, eu@eu.acme.com, trick@acme.com.evil.io', actor: BOOT });
    expect(summary.sent).toEqual(['in@acme.com', 'eu@eu.acme.com']);
    expect(summary.awaitingApproval).toEqual([
      { email: 'out@other.io', invitationId: expect.any(String), reasons: ['outside_domains'] },
      { email: 'trick@acme.com.evil.io', invitationId: expect.any(String), reasons: ['outside_domains'] },
    ]);
    const admin = await w.policy.inviteMany({ emails: 'boss@acme.com', role: 'admin', actor: ANA });
    expect(admin.sent).toEqual([]);
    expect(admin.awaitingApproval).toEqual([{ email: 'boss@acme.com', invitationId: expect.any(String), reasons: ['admin_role'] }]);

    const held = summary.awaitingApproval![0]!.invitationId;
    expect(await emails(w, held)).toHaveLength(0);
    const invitation = await w.policy.get(held);
    expect(invitation).toMatchObject({ status: 'awaiting_approval', approval: { reasons: ['outside_domains'], decision: null } });
    expect(invitation.expiresAt).toBe(w.clock.now() + TTL);
    // Not a usable link, not resendable, not copyable.
    await expect(w.policy.lookupToken(await currentToken(w.db, held))).rejects.toThrow();
    await expect(w.policy.resend(held, BEN)).rejects.toBeInstanceOf(AwaitingApproval);
    await expect(w.policy.copyLink(held)).rejects.toBeInstanceOf(AwaitingApproval);
    // Its own status in lists and counts (kept by the tallies).
    expect((await w.policy.list({ status: 'awaiting_approval' })).invitations.map((i) => i.email).sort()).toEqual(['boss@acme.com', 'out@other.io', 'trick@acme.com.evil.io']);
    expect((await w.policy.list({ status: 'awaiting_approval' })).total).toBe(3);
    expect(await w.policy.counts()).toMatchObject({ pending: 2, awaiting_approval: 3, all: 5 });
    expect((await w.policy.list({ status: 'open' })).total).toBe(5);
    // Asking again answers "already waiting for approval" (not "already invited": its link cannot
    // be resent), and never a second request.
    const again = await w.policy.inviteMany({ emails: 'out@other.io', actor: BEN });
    expect(again.alreadyAwaiting).toEqual([{ email: 'out@other.io', invitationId: held }]);
    expect(again.alreadyInvited).toEqual([]);
    expect(await w.invites.review('out@other.io')).toMatchObject({ alreadyAwaiting: [{ email: 'out@other.io', invitationId: held }], alreadyInvited: [], fresh: [] });
    expect(await countRows(w.db, 'invitations', { email: 'out@other.io' })).toBe(1);
    expect((await auditFor(w.db, held)).map((a) => a.action)).toEqual(['approval_request']);
  });

  it('approve: someone else approves, the email is queued with it and the link expires TTL from then', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'out@other.io', actor: ANA })).awaitingApproval!;
    w.clock.advance(2 * DAY);
    const approved = await w.policy.approve(held!.invitationId, BEN);
    expect(approved).toMatchObject({ status: 'pending', approval: { decision: 'approved', decidedBy: 'slack:U0BEN', decidedByName: 'Ben' } });
    expect(approved.expiresAt).toBe(w.clock.now() + TTL);
    expect(await emails(w, held!.invitationId)).toHaveLength(1);
    expect((await w.policy.lookupToken(await currentToken(w.db, held!.invitationId))).status).toBe('pending');
    const audit = await auditFor(w.db, held!.invitationId);
    expect(audit.map((a) => [a.action, a.actor_id])).toEqual([['approval_request', 'U0ANA'], ['approve', 'U0BEN']]);
    expect(await w.policy.counts()).toMatchObject({ pending: 1, awaiting_approval: 0, all: 1 });
    // Decided once: a second decision is told who decided.
    await expect(w.policy.approve(held!.invitationId, BOOT)).rejects.toMatchObject({ code: 'already_decided', decision: 'approved', decidedByName: 'Ben' });
    await expect(w.policy.deny(held!.invitationId, BOOT, 'no')).rejects.toBeInstanceOf(AlreadyDecided);
  });

  it('two-person rule: the requester cannot decide, by Slack user or by their member (API token)', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'out@other.io', actor: ANA })).awaitingApproval!;
    await expect(w.policy.approve(held!.invitationId, ANA)).rejects.toBeInstanceOf(OwnRequest);
    await expect(w.policy.approve(held!.invitationId, ANA_BY_TOKEN)).rejects.toBeInstanceOf(OwnRequest);
    await expect(w.policy.deny(held!.invitationId, ANA_BY_TOKEN, 'changed my mind')).rejects.toBeInstanceOf(OwnRequest);
    expect((await w.policy.get(held!.invitationId)).status).toBe('awaiting_approval');
    // The operator is no requester and may decide.
    expect(await w.policy.approve(held!.invitationId, CLI)).toMatchObject({ status: 'pending', approval: { decidedBy: 'system', decidedByName: 'the operator (cli)' } });
  });

  it('two-person rule across a deactivation: the Slack user the requester held, now another account\'s, still cannot decide', async () => {
    const w = world();
    await w.members.create({ email: 'other.admin@acme.com', role: 'admin' }, CLI);
    await w.db('members').where({ id: 'usr_ana' }).update({ slack_user_id: 'U0ANA' });
    // Asked through the API (only the member is stored as requester), then deactivated: the link is released.
    const [held] = (await w.policy.inviteMany({ emails: 'out@other.io', actor: ANA_BY_TOKEN })).awaitingApproval!;
    await w.members.deactivate('usr_ana', CLI);
    // The same person, back under another address, linked to the same Slack user.
    const again = (await w.members.create({ email: 'ana@new.acme.com', role: 'admin', slackUserId: 'U0ANA' }, CLI)).member;
    const asAgain: Actor = { type: 'slack', slackUserId: 'U0ANA', memberId: again.id, name: 'Ana' };
    await expect(w.policy.approve(held!.invitationId, asAgain)).rejects.toBeInstanceOf(OwnRequest);
    // An operator's unlink of the deactivated account changes nothing, so it records nothing to hide it behind.
    await w.members.setSlackUser('usr_ana', null, CLI);
    await expect(w.policy.approve(held!.invitationId, asAgain)).rejects.toBeInstanceOf(OwnRequest);
    // Someone else may decide; the requester's account is deactivated, so only a denial.
    await expect(w.policy.approve(held!.invitationId, BEN)).rejects.toThrow(/may no longer invite people/);
    expect(await w.policy.deny(held!.invitationId, BEN, 'asked by an account since closed')).toMatchObject({ status: 'revoked' });
  });

  it('a member demoted or deactivated a moment ago cannot decide, whatever a kept identity says; a bootstrap admin and the operator can', async () => {
    const w = world();
    const carl = (await w.members.create({ email: 'carl@acme.com', role: 'admin', slackUserId: 'U0CARL' }, CLI)).member;
    const dora = (await w.members.create({ email: 'dora@acme.com', role: 'admin' }, CLI)).member;
    const held = (await w.policy.inviteMany({ emails: 'one@other.io, two@other.io, three@other.io', actor: ANA_BY_TOKEN })).awaitingApproval!;
    await w.members.setRole(carl.id, 'member', CLI);
    await w.members.deactivate(dora.id, CLI);
    const asCarl: Actor = { type: 'slack', slackUserId: 'U0CARL', memberId: carl.id, name: 'Carl' };
    const asDora: Actor = { type: 'member', memberId: dora.id, name: 'Dora' };
    for (const actor of [asCarl, asDora]) {
      await expect(w.policy.approve(held[0]!.invitationId, actor)).rejects.toBeInstanceOf(NotPermitted);
      await expect(w.policy.deny(held[0]!.invitationId, actor, 'no')).rejects.toBeInstanceOf(NotPermitted);
    }
    expect((await w.policy.get(held[0]!.invitationId)).status).toBe('awaiting_approval');
    expect(await w.policy.approve(held[0]!.invitationId, BEN)).toMatchObject({ status: 'pending' });
    expect(await w.policy.deny(held[1]!.invitationId, CLI, 'not now')).toMatchObject({ status: 'revoked' });
    // A bootstrap admin whose member account is not an admin (any more) still may.
    expect(await w.policy.approve(held[2]!.invitationId, { ...BOOT, memberId: carl.id })).toMatchObject({ status: 'pending' });
  });

  it('a request whose requester was demoted or deactivated since can only be denied: approving would send in the name of an account cut off', async () => {
    const w = world();
    const eve = (await w.members.create({ email: 'eve@acme.com', role: 'admin' }, CLI)).member;
    const asEve: Actor = { type: 'member', memberId: eve.id, name: 'Eve' };
    const [one] = (await w.policy.inviteMany({ emails: 'one@other.io', actor: asEve, inviterName: 'Eve' })).awaitingApproval!;
    const [two, three] = (await w.policy.inviteMany({ emails: 'two@other.io, three@other.io', actor: asEve, inviterName: 'Eve' })).awaitingApproval!;
    const request = (await invitationRow(w.db, two!.invitationId)).approval_request_id!;
    await w.members.setRole(eve.id, 'member', CLI);
    await expect(w.policy.approve(one!.invitationId, ANA_BY_TOKEN)).rejects.toThrow(/^Eve may no longer invite people .* can only be denied\.$/);
    await expect(w.policy.approveRequest(request, BOOT)).rejects.toBeInstanceOf(InvalidInput);
    for (const held of [one!, two!, three!]) {
      expect((await w.policy.get(held.invitationId)).status).toBe('awaiting_approval');
      expect(await emails(w, held.invitationId)).toEqual([]);
    }
    expect(await w.policy.deny(one!.invitationId, ANA_BY_TOKEN, 'Eve has left')).toMatchObject({ status: 'revoked' });
    // An admin again, and it may be approved; deactivated, and it may not.
    await w.members.setRole(eve.id, 'admin', CLI);
    expect(await w.policy.approve(two!.invitationId, ANA_BY_TOKEN)).toMatchObject({ status: 'pending' });
    await w.members.deactivate(eve.id, CLI);
    await expect(w.policy.approve(three!.invitationId, CLI)).rejects.toThrow(/may no longer invite people/);
    // A bootstrap admin's request may be approved whatever their member account is (deactivated here).
    const [boot] = (await w.policy.inviteMany({ emails: 'four@other.io', actor: { ...BOOT, memberId: eve.id } })).awaitingApproval!;
    expect(await w.policy.approve(boot!.invitationId, ANA_BY_TOKEN)).toMatchObject({ status: 'pending' });
    // A Slack requester: refused once deactivated, and so is a bootstrap admin no longer listed as one.
    const fay = (await w.members.create({ email: 'fay@acme.com', role: 'admin', slackUserId: 'U0FAY' }, CLI)).member;
    const [byFay, byFayToo] = (await w.policy.inviteMany({ emails: 'six@other.io, seven@other.io', actor: { type: 'slack', slackUserId: 'U0FAY', memberId: fay.id, name: 'Fay' }, inviterName: 'Fay' })).awaitingApproval!;
    const [bootOnly] = (await w.policy.inviteMany({ emails: 'five@other.io', actor: BOOT, inviterName: 'Boot' })).awaitingApproval!;
    await w.members.deactivate(fay.id, CLI);
    const delisted = new InvitesService(w.db, w.clock, { ...SETTINGS, members: w.members, policy: { ...POLICY, unlimitedSlackUserIds: [] } });
    await expect(delisted.approve(byFay!.invitationId, CLI)).rejects.toThrow(/^Fay may no longer invite people \(their Doorman account was deactivated/);
    await expect(delisted.approve(bootOnly!.invitationId, CLI)).rejects.toThrow(/^Boot may no longer invite people \(they are no longer in SLACK_ADMIN_USER_IDS\)/);
    // Where the Slack settings are not known (the CLI run without them), a Slack requester with no
    // member may have been a bootstrap admin: it cannot tell, and lets the approval be. One with a
    // member is judged by it: Fay's deactivation holds there too.
    const withoutSlack = new InvitesService(w.db, w.clock, { ...SETTINGS, members: w.members, policy: { ...POLICY, unlimitedSlackUserIds: [], slackSettingsKnown: false } });
    expect(await withoutSlack.approve(bootOnly!.invitationId, CLI)).toMatchObject({ status: 'pending' });
    await expect(withoutSlack.approve(byFayToo!.invitationId, CLI)).rejects.toThrow(/^Fay may no longer invite people \(their Doorman account was deactivated/);
    expect((await withoutSlack.get(byFayToo!.invitationId)).status).toBe('awaiting_approval');
  });

  it('two-person rule: a link released by an unlink (as migration 0017 records it) still counts as the requester\'s', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'out@other.io', actor: ANA_BY_TOKEN })).awaitingApproval!;
    await w.db('members').where({ id: 'usr_ana' }).update({ state: 'deactivated' });
    await w.db('audit_log').insert({ at: 1, actor_type: 'system', actor_id: 'migration', action: 'slack_unlink', subject_type: 'member', subject_id: 'usr_ana', details: JSON.stringify({ slackUserId: null, previous: 'U0ANA' }) });
    await expect(w.policy.approve(held!.invitationId, { type: 'slack', slackUserId: 'U0ANA', name: 'Ana' })).rejects.toBeInstanceOf(OwnRequest);
    expect(await w.policy.deny(held!.invitationId, BEN, 'asked by an account since closed')).toMatchObject({ status: 'revoked' });
  });

  it('deny: needs a reason, sends nothing, shows as revoked with the reason', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'boss@acme.com', role: 'admin', actor: ANA })).awaitingApproval!;
    await expect(w.policy.deny(held!.invitationId, BEN, '  ')).rejects.toBeInstanceOf(InvalidInput);
    const denied = await w.policy.deny(held!.invitationId, BEN, 'Admins are added by IT');
    expect(denied).toMatchObject({ status: 'revoked', approval: { decision: 'denied', denyReason: 'Admins are added by IT', decidedByName: 'Ben' } });
    expect(await outboxFor(w.db, held!.invitationId)).toHaveLength(0);
    await expect(w.policy.approve(held!.invitationId, BOOT)).rejects.toMatchObject({ code: 'already_decided', decision: 'denied' });
    expect((await auditFor(w.db, held!.invitationId)).map((a) => a.action)).toEqual(['approval_request', 'deny']);
    expect(await w.policy.counts()).toMatchObject({ revoked: 1, awaiting_approval: 0 });
  });

  it('approve after revoke is refused as revoked, and nothing is sent', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'out@other.io', actor: ANA })).awaitingApproval!;
    await w.policy.revoke(held!.invitationId, ANA);
    await expect(w.policy.approve(held!.invitationId, BEN)).rejects.toBeInstanceOf(InvitationRevoked);
    expect(await outboxFor(w.db, held!.invitationId)).toHaveLength(0);
    expect(await w.policy.counts()).toMatchObject({ revoked: 1, awaiting_approval: 0 });
  });

  it('a request nobody decided within INVITE_TTL lapses once, and can no longer be approved', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'out@other.io', actor: ANA })).awaitingApproval!;
    w.clock.advance(TTL - 1);
    expect(await w.policy.lapseDueRequests()).toBe(0);
    w.clock.advance(1);
    await expect(w.policy.approve(held!.invitationId, BEN)).rejects.toBeInstanceOf(ApprovalLapsed);
    expect(await w.policy.lapseDueRequests()).toBe(1);
    expect(await w.policy.lapseDueRequests()).toBe(0);
    expect(await w.policy.get(held!.invitationId)).toMatchObject({ status: 'revoked', approval: { decision: 'lapsed', decidedBy: 'system', decidedByName: null } });
    // The same answer once the sweep has closed it.
    await expect(w.policy.approve(held!.invitationId, BEN)).rejects.toBeInstanceOf(ApprovalLapsed);
    expect((await auditFor(w.db, held!.invitationId)).map((a) => a.action)).toEqual(['approval_request', 'approval_lapse']);
    // The address can be asked for again.
    expect((await w.policy.inviteMany({ emails: 'out@other.io', actor: ANA })).awaitingApproval).toHaveLength(1);
  });

  it('every request that is due lapses in one sweep, however many (in transactions of 500)', async () => {
    const w = world();
    const held = await w.policy.inviteMany({ emails: Array.from({ length: 1_203 }, (_, i) => `out${i}@other.io`), actor: BOOT });
    expect(held.awaitingApproval).toHaveLength(1_203);
    w.clock.advance(TTL);
    expect(await w.policy.lapseDueRequests()).toBe(1_203);
    expect(await w.policy.counts()).toMatchObject({ awaiting_approval: 0, revoked: 1_203 });
  });

  it('approvers racing: of approvals and denials at once, exactly one wins and at most one email is queued', async () => {
    const w = world();
    const { awaitingApproval } = await w.policy.inviteMany({ emails: 'a@x.io, b@x.io, c@x.io', actor: ANA });
    const zed = (await w.members.create({ email: 'zed@acme.com', role: 'admin' }, CLI)).member.id;
    for (const { invitationId } of awaitingApproval!) {
      const deciders: Actor[] = [BEN, BOOT, { type: 'member', memberId: zed, name: 'Zed' }, CLI];
      const results = await Promise.allSettled(deciders.map((who, i) => (i % 2 ? w.policy.deny(invitationId, who, 'no') : w.policy.approve(invitationId, who))));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const lost of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) expect(lost.reason).toBeInstanceOf(AlreadyDecided);
      const row = await invitationRow(w.db, invitationId);
      expect((await emails(w, invitationId)).length).toBe(row.decision === 'approved' ? 1 : 0);
      expect((await auditFor(w.db, invitationId)).filter((a) => a.action === 'approve' || a.action === 'deny')).toHaveLength(1);
    }
    const counts = await w.policy.counts();
    expect(counts.awaiting_approval).toBe(0);
    expect(counts.pending + counts.revoked).toBe(3);
  });

  it('raising a live invitation to admin holds it again: its queued email is dropped until approved', async () => {
    const w = world();
    const { invitationIds } = await w.policy.inviteMany({ emails: 'jane@acme.com', actor: BEN });
    const changed = await w.policy.setRole(invitationIds[0]!, 'admin', ANA);
    expect(changed).toMatchObject({ status: 'awaiting_approval', role: 'admin', approval: { reasons: ['admin_role'] } });
    expect(await emails(w, invitationIds[0]!)).toHaveLength(0);
    // Ana raised it, so Ana is the requester now.
    await expect(w.policy.approve(invitationIds[0]!, ANA)).rejects.toBeInstanceOf(OwnRequest);
    expect((await w.policy.approve(invitationIds[0]!, BEN)).status).toBe('pending');
  });

  it('approving a request for an address that became a member meanwhile is refused: no link is emailed', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'joined@partner.io', actor: ANA })).awaitingApproval!;
    await w.members.create({ email: 'joined@partner.io', role: 'member' }, CLI);
    await expect(w.policy.approve(held!.invitationId, BEN)).rejects.toMatchObject({ code: 'already_member' });
    expect(await emails(w, held!.invitationId)).toHaveLength(0);
    expect((await w.policy.get(held!.invitationId)).status).toBe('awaiting_approval');
  });

  it('another role for an approved outside address keeps its live link: only a raise to admin holds it again', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'bob@partner.io', role: 'developer', actor: ANA })).awaitingApproval!;
    await w.policy.approve(held!.invitationId, BEN);
    const token = await currentToken(w.db, held!.invitationId);
    const lowered = await w.policy.setRole(held!.invitationId, 'member', ANA);
    expect(lowered).toMatchObject({ status: 'pending', role: 'member', approval: { decision: 'approved' } });
    expect((await w.policy.lookupToken(token)).role).toBe('member');
    const raised = await w.policy.setRole(held!.invitationId, 'admin', ANA);
    expect(raised).toMatchObject({ status: 'awaiting_approval', role: 'admin', approval: { reasons: ['outside_domains', 'admin_role'] } });
  });

  it('a decision from a message drawn before the invitation was decided and held again decides nothing; one naming the current hold decides it', async () => {
    const w = world();
    const [held] = (await w.policy.inviteMany({ emails: 'dora@partner.io', role: 'developer', actor: ANA })).awaitingApproval!;
    const id = held!.invitationId;
    const shown = (await w.policy.get(id)).updatedAt;
    await w.policy.approve(id, BEN, shown);
    // Raised to admin: held anew, under the same id.
    w.clock.advance(1_000);
    await w.policy.setRole(id, 'admin', ANA);
    const rehold = await invitationRow(w.db, id);
    await expect(w.policy.approve(id, BOOT, shown)).rejects.toThrow(/held for approval again since this message was drawn/);
    await expect(w.policy.deny(id, BOOT, 'not a developer', shown)).rejects.toThrow(/held for approval again since this message was drawn/);
    expect(await invitationRow(w.db, id)).toEqual(rehold);
    const current = (await w.policy.get(id)).updatedAt;
    expect(await w.policy.approve(id, BOOT, current)).toMatchObject({ status: 'pending', role: 'admin', approval: { decision: 'approved' } });
  });

  it('Medusa-compatible create: a held invitation answers like a sent one; over the limit is refused', async () => {
    const w = world();
    expect(await w.policy.inviteOne({ email: 'out@other.io', role: 'member', actor: ANA_BY_TOKEN })).toMatchObject({ outcome: 'awaiting_approval', invitation: { status: 'awaiting_approval' } });
    expect(await w.policy.inviteOne({ email: 'out@other.io', role: 'member', actor: ANA_BY_TOKEN })).toMatchObject({ outcome: 'awaiting_approval' });
    await w.policy.inviteOne({ email: 'two@acme.com', role: 'member', actor: ANA_BY_TOKEN });
    await w.policy.inviteOne({ email: 'three@acme.com', role: 'member', actor: ANA_BY_TOKEN });
    await expect(w.policy.inviteOne({ email: 'four@acme.com', role: 'member', actor: ANA_BY_TOKEN })).rejects.toBeInstanceOf(DailyLimitReached);
    expect(await countRows(w.db, 'invitations', { email: 'four@acme.com' })).toBe(0);
  });

  it('over the daily limit, the refusal says when the next place frees: when the oldest of the 24 hours leaves them', async () => {
    const w = world();
    await w.policy.inviteOne({ email: 'a1@acme.com', role: 'member', actor: ANA_BY_TOKEN });
    w.clock.advance(3_600_000);
    await w.policy.inviteOne({ email: 'a2@acme.com', role: 'member', actor: ANA_BY_TOKEN });
    await w.policy.inviteOne({ email: 'a3@acme.com', role: 'member', actor: ANA_BY_TOKEN });
    w.clock.advance(30 * 60_000);
    const refused = await w.policy.inviteOne({ email: 'a4@acme.com', role: 'member', actor: ANA_BY_TOKEN }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DailyLimitReached);
    // The first was made 90 minutes ago: its place frees in 22 h 30 min.
    expect((refused as DailyLimitReached).retryAfterS).toBe((DAY - 90 * 60_000) / 1000);
    expect((refused as DailyLimitReached).message).toContain('try again in 23 hours');
    w.clock.advance(DAY - 90 * 60_000);
    expect(await w.policy.inviteOne({ email: 'a4@acme.com', role: 'member', actor: ANA_BY_TOKEN })).toMatchObject({ outcome: 'sent' });
  });

  it('daily limit, one address at a time and all at once (the admin API\'s create): exactly the places left are taken', async () => {
    const w = world();
    await w.policy.inviteOne({ email: 'first@acme.com', role: 'member', actor: ANA_BY_TOKEN });
    const tries = Array.from({ length: 8 }, (_, i) => w.policy.inviteOne({ email: `burst${i}@acme.com`, role: 'member', actor: ANA_BY_TOKEN }));
    const settled = await Promise.allSettled(tries);
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const refused = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(6);
    for (const r of refused) expect(r.reason).toBeInstanceOf(DailyLimitReached);
    expect(await countRows(w.db, 'invitations', {})).toBe(3);
  });

  it('daily limit: per inviter across doors (Slack user and member are one person), for 24 hours; bootstrap admins and the operator are not limited', async () => {
    const w = world();
    const bySlack = await w.policy.inviteMany({ emails: 'a1@acme.com, a2@acme.com', actor: ANA });
    expect(bySlack.sent).toHaveLength(2);
    // The same person through the admin API: one place left.
    const byToken = await w.policy.inviteMany({ emails: 'a3@acme.com, a4@acme.com, a5@other.io', actor: ANA_BY_TOKEN });
    expect(byToken.sent).toEqual(['a3@acme.com']);
    expect(byToken.overLimit).toEqual(['a4@acme.com', 'a5@other.io']);
    expect(await countRows(w.db, 'invitations', { email: 'a4@acme.com' })).toBe(0);
    // Someone else has their own count.
    expect((await w.policy.inviteMany({ emails: 'b1@acme.com, b2@acme.com, b3@acme.com, b4@acme.com', actor: BEN })).overLimit).toEqual(['b4@acme.com']);
    // Not limited.
    expect((await w.policy.inviteMany({ emails: 'c1@acme.com, c2@acme.com, c3@acme.com, c4@acme.com', actor: BOOT })).sent).toHaveLength(4);
    expect((await w.policy.inviteMany({ emails: 'd1@acme.com, d2@acme.com, d3@acme.com, d4@acme.com', actor: CLI })).sent).toHaveLength(4);
    // 24 hours on, the places are back.
    w.clock.advance(DAY);
    expect((await w.policy.inviteMany({ emails: 'a4@acme.com', actor: ANA })).sent).toEqual(['a4@acme.com']);
  });

  it('the daily count is one read through an index', async () => {
    const w = world();
    // The statement the limit runs, for an inviter known both ways (a Slack user and their member).
    const { sql, bindings } = createdToday(w.db, { slackUserId: 'U0ANA', memberId: 'usr_ana' }, Date.now()).toSQL();
    let details: string;
    if (dialect === 'sqlite') {
      const plan = (await w.db.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings as never)) as Array<{ detail: string }>;
      details = plan.map((p) => p.detail).join('\n');
    } else {
      // This table is small enough for a scan; with scans priced out, the plan shows the indexes it can use.
      details = await w.db.transaction(async (trx) => {
        await trx.raw('SET LOCAL enable_seqscan = off');
        const plan = (await trx.raw(`EXPLAIN ${sql}`, bindings as never)) as { rows: Array<{ 'QUERY PLAN': string }> };
        return plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      });
    }
    expect(details).toMatch(/invitations_slack_created/);
    expect(details).toMatch(/invitations_member_created/);
  });
});
