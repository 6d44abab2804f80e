import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_APPROVAL } from '../../src/notices/approvals.js';
import { DENY_BLOCKS, DENY_INPUTS, DENY_MODAL } from '../../src/slack/action-values.js';
import type { Actor } from '../../src/shared/actor.js';
import { OwnRequest } from '../../src/shared/errors.js';
import { IDENTITY_CACHE_MS } from '../../src/slack/identity.js';
import { newId } from '../../src/shared/ids.js';
import { DIALECTS } from '../support/db.js';
import type { ApiCall } from '../support/slack-api.js';
import { newTriggerId, viewSubmissionPayload } from '../support/slack-payloads.js';
import { ADMIN, ADMIN2, buttonFor, DAY, eventually, LINKED, PLAIN, SlackWorld, textOf } from '../support/slack-world.js';

/** The bootstrap admin ADMIN asks; ADMIN2 (bootstrap) and LINKED (an admin member) are asked. */
const REQUESTER: Actor = { type: 'slack', slackUserId: ADMIN, name: 'Bootstrap Boss' };

describe.each(DIALECTS)('approvals in Slack (the rule "Policy") (%s)', (dialect) => {
  let h: SlackWorld;

  beforeAll(async () => {
    h = await SlackWorld.start(dialect, { env: { INVITE_ALLOWED_DOMAINS: 'corp.test, *.corp.test' }, channels: ['C0APPROVALS'] });
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  const hold = async (email: string, role: 'member' | 'admin' = 'member') => {
    const summary = await h.services.invites.inviteMany({ emails: email, role, actor: REQUESTER });
    return summary.awaitingApproval![0]!.invitationId;
  };
  /** The approval request DM'd to `user` about `email`. */
  const requestTo = (user: string, email: string) =>
    eventually(() => {
      h.clock.advance(1_100);
      return h.dms(user).find((dm) => String(dm.args.text).startsWith(`Invitation to ${email} `));
    }, 10_000, `the approval request for ${email} to ${user}`);
  const updatesOf = (email: string) => h.api.callsTo('chat.update').filter((c) => String(c.args.text).startsWith(`Invitation to ${email} `));
  const requesterDm = (email: string, word: string) =>
    eventually(() => {
      h.clock.advance(1_100);
      return h.dms(ADMIN).find((dm) => dm.args.text === `Your invitation to ${email} was ${word}` || (word === 'lapsed' && dm.args.text === `Your invitation to ${email} lapsed`));
    }, 10_000, `the requester's DM (${word}) about ${email}`);

  it('the summary says which entries wait and why; each approver but the requester gets the request with Approve and Deny', async () => {
    const { responseId } = await h.slash('invite in@corp.test out@other.io');
    const reply = textOf((await h.api.response(responseId)).body);
    expect(reply).toContain('Waiting for approval (1)');
    expect(reply).toContain('out@other.io — the address is outside the allowed domains');
    const [toAdmin2, toLinked] = await Promise.all([requestTo(ADMIN2, 'out@other.io'), requestTo(LINKED, 'out@other.io')]);
    for (const dm of [toAdmin2, toLinked]) {
      const text = textOf(dm.args as any);
      expect(text).toContain(`<@${ADMIN}> asks to invite *out@other.io* as *Member*`);
      expect(text).toContain('*Why it needs approval:* the address is outside the allowed domains.');
      expect(buttonFor(dm.args.blocks, 'approval_approve').text.text).toBe('Approve');
      expect(buttonFor(dm.args.blocks, 'approval_deny').text.text).toBe('Deny');
    }
    expect(h.dms(ADMIN).filter((dm) => String(dm.args.text).startsWith('Invitation to out@other.io'))).toHaveLength(0);
    const invitation = (await h.services.invites.list({ status: 'awaiting_approval', search: 'out@other.io' })).invitations[0]!;
    expect(invitation.status).toBe('awaiting_approval');
  });

  it('the same address asked again is skipped as already waiting, without a Resend button (its link cannot be resent), and nobody is asked twice', async () => {
    const { responseId } = await h.slash('invite out@other.io');
    const body = (await h.api.response(responseId)).body;
    const reply = textOf(body);
    expect(reply).toContain('Skipped — already waiting for approval (1)');
    expect(reply).not.toContain('already invited');
    expect(JSON.stringify(body)).not.toContain('"Resend"');
    expect(await h.db.db('invitations').where({ email: 'out@other.io' })).toHaveLength(1);
  });

  it('refused clicks change nothing: the requester (two-person rule), someone without the permission, a forged value', async () => {
    const dm = await requestTo(ADMIN2, 'out@other.io');
    const approve = buttonFor(dm.args.blocks, 'approval_approve');
    const own = await h.clickDm(dm, approve, { user: ADMIN });
    expect(textOf((await h.api.response(own.responseId)).body)).toContain('someone else has to approve or deny it');
    const plain = await h.clickDm(dm, approve, { user: PLAIN });
    // Told the permission this button needs.
    expect(textOf((await h.api.response(plain.responseId)).body)).toContain('You need the *Invite: Approve* permission');
    for (const value of ['a.invite_../../x', 'invite_01AAAAAAAAAAAAAAAAAAAAAAAA', 'a.' + 'x'.repeat(80)]) {
      const forged = await h.clickDm(dm, { ...approve, value }, { user: ADMIN2 });
      expect(textOf((await h.api.response(forged.responseId)).body)).toContain('This button is out of date');
    }
    const unknown = await h.clickDm(dm, { ...approve, value: 'a.invite_01AAAAAAAAAAAAAAAAAAAAAAAA' }, { user: ADMIN2 });
    expect(textOf((await h.api.response(unknown.responseId)).body)).toContain('That invitation no longer exists.');
    expect((await h.services.invites.list({ status: 'awaiting_approval', search: 'out@other.io' })).total).toBe(1);
    expect(await h.db.db('audit_log').whereIn('action', ['approve', 'deny'])).toHaveLength(0);
  });

  it('two approvers at once: one wins, the other is told who decided; every copy is updated in place; the email goes out; the requester hears', async () => {
    const [a, b] = await Promise.all([requestTo(ADMIN2, 'out@other.io'), requestTo(LINKED, 'out@other.io')]);
    const [first, second] = await Promise.all([
      h.clickDm(a, buttonFor(a.args.blocks, 'approval_approve'), { user: ADMIN2 }),
      h.clickDm(b, buttonFor(b.args.blocks, 'approval_approve'), { user: LINKED }),
    ]);
    expect(first.ack.status).toBe(200);
    expect(second.ack.status).toBe(200);
    // Each click is answered after its ack: the loser is told who won, and both messages are redrawn.
    const told = await eventually(() => [first, second].flatMap((c) => h.api.responsesTo(c.responseId)).find((r) => textOf(r.body).includes('Already approved by')), 10_000, "the loser's answer");
    await eventually(() => h.api.responsesTo(first.responseId).length >= 1 && h.api.responsesTo(second.responseId).length >= 1, 10_000, 'both clicks answered');
    const approvals = await h.db.db('audit_log').where({ action: 'approve' });
    expect(approvals).toHaveLength(1);
    const winner = approvals[0].actor_id as string;
    expect(textOf(told.body)).toContain(`Already approved by <@${winner}>.`);
    await eventually(() => h.smtp.to('out@other.io').length === 1, 10_000, 'the invitation email');
    // Both DM copies, updated through the outbox for everyone.
    const updated = await eventually(() => (updatesOf('out@other.io').length >= 2 ? updatesOf('out@other.io') : undefined), 10_000, 'both copies updated');
    expect(new Set(updated.map((u) => u.args.channel))).toEqual(new Set([`D${ADMIN2.slice(1)}`, `D${LINKED.slice(1)}`]));
    for (const u of updated) {
      expect(textOf(u.args as any)).toContain(`Approved by <@${winner}>`);
      expect(JSON.stringify(u.args.blocks)).not.toContain('approval_approve');
    }
    const dm = await requesterDm('out@other.io', 'approved');
    expect(textOf(dm.args as any)).toContain(`<@${winner}> approved your invitation to *out@other.io*`);
    // A click on a copy drawn before the decision is answered with the current state.
    // Past the double-click window, so it is a click of its own.
    h.clock.advance(11_000);
    const late = await h.clickDm(b, buttonFor(b.args.blocks, 'approval_approve'), { user: ADMIN2 });
    const answer = await h.api.response(late.responseId);
    expect(textOf(answer.body)).toContain(`Already approved by <@${winner}>.`);
    expect(await h.db.db('audit_log').where({ action: 'approve' })).toHaveLength(1);
  });

  it('Deny opens the reason modal at once; the requester cannot submit it; an approver denies with a reason', async () => {
    const email = 'chief@corp.test';
    const id = await hold(email, 'admin');
    const dm = await requestTo(LINKED, email);
    expect(textOf(dm.args as any)).toContain('the admin role needs approval');
    const clicked = Date.now();
    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_deny'), { user: LINKED });
    const opened = await eventually(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === click.payload.trigger_id), 5_000, 'the deny modal');
    expect(opened.at - clicked).toBeLessThan(3_000);
    expect(opened.args.view.callback_id).toBe(DENY_MODAL);

    const submit = (user: string, reason: string) =>
      h.interaction(
        viewSubmissionPayload({ user, triggerId: newTriggerId(), values: { [DENY_BLOCKS.reason]: { [DENY_INPUTS.reason]: { type: 'plain_text_input', value: reason } } }, extra: { callback_id: DENY_MODAL, private_metadata: opened.args.view.private_metadata } }),
      );
    const own = await submit(ADMIN, 'no');
    expect(own.json).toMatchObject({ response_action: 'errors', errors: { [DENY_BLOCKS.reason]: expect.stringContaining('someone else') } });
    const empty = await submit(LINKED, '   ');
    expect(empty.json).toMatchObject({ response_action: 'errors' });
    expect((await h.services.invites.get(id)).status).toBe('awaiting_approval');

    const denied = await submit(LINKED, 'Admins are made by IT');
    expect(denied.status).toBe(200);
    expect(denied.text).toBe('');
    expect(await h.services.invites.get(id)).toMatchObject({ status: 'revoked', approval: { decision: 'denied', denyReason: 'Admins are made by IT' } });
    const updated = await eventually(() => (updatesOf(email).length >= 2 ? updatesOf(email) : undefined), 10_000, 'both copies updated');
    for (const u of updated) expect(textOf(u.args as any)).toContain(`Denied by <@${LINKED}>`);
    const told = await requesterDm(email, 'denied');
    expect(textOf(told.args as any)).toContain('Admins are made by IT');
    expect(h.smtp.to(email)).toHaveLength(0);
    expect((await h.db.db('outbox').where({ invitation_id: id, kind: 'invite_email' }))).toHaveLength(0);
  });

  it('a deny slower than Slack\'s window: the modal is answered first and closes, and the deny still happens', async () => {
    const email = 'slow-deny@corp.test';
    const id = await hold(email, 'admin');
    const dm = await requestTo(LINKED, email);
    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_deny'), { user: LINKED });
    const opened = await eventually(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === click.payload.trigger_id), 5_000, 'the deny modal');
    const { invites } = h.services;
    const deny = invites.deny.bind(invites);
    let denied = false;
    invites.deny = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const result = await deny(...args);
      denied = true;
      return result;
    };
    try {
      const answer = await h.interaction(
        viewSubmissionPayload({ user: LINKED, triggerId: newTriggerId(), values: { [DENY_BLOCKS.reason]: { [DENY_INPUTS.reason]: { type: 'plain_text_input', value: 'Too slow' } } }, extra: { callback_id: DENY_MODAL, private_metadata: opened.args.view.private_metadata } }),
      );
      expect([answer.status, answer.text]).toEqual([200, '']);
      expect(denied).toBe(false);
      await eventually(() => denied, 10_000, 'the deny');
    } finally {
      invites.deny = deny;
    }
    expect(await h.services.invites.get(id)).toMatchObject({ status: 'revoked', approval: { decision: 'denied', denyReason: 'Too slow' } });
  });

  it('a submission whose listener fails (the database, say) is answered in the modal at once, not left to time out', async () => {
    const { members } = h.services;
    const find = members.findBySlackUserId.bind(members);
    members.findBySlackUserId = (slackUserId) => (slackUserId === 'U0BROKEN' ? Promise.reject(new Error('connection lost')) : find(slackUserId));
    try {
      const form = await h.submitInvite({ emails: 'broken.form@corp.test' }, { user: 'U0BROKEN' });
      const review = await h.sendReview('draft_NONE', { user: 'U0BROKEN' });
      for (const answer of [form, review]) {
        expect(answer.status).toBe(200);
        expect(answer.json).toMatchObject({ response_action: 'update' });
        expect(textOf((answer.json as { view: any }).view)).toContain('Something went wrong on our side');
      }
    } finally {
      members.findBySlackUserId = find;
    }
    expect(await h.db.db('invitations').where({ email: 'broken.form@corp.test' })).toHaveLength(0);
  });

  it('a request nobody decides within INVITE_TTL lapses at the sweep; its copies say so and the requester is told', async () => {
    const email = 'late@elsewhere.io';
    const id = await hold(email);
    await requestTo(ADMIN2, email);
    h.clock.advance(7 * DAY);
    // By this sweep or the app's own (every second), whichever comes first.
    await h.sweep();
    expect((await h.services.invites.get(id)).approval).toMatchObject({ decision: 'lapsed' });
    const updated = await eventually(() => (updatesOf(email).length >= 1 ? updatesOf(email) : undefined), 10_000, 'the copies updated');
    expect(textOf(updated[0]!.args as any)).toContain('Lapsed: nobody decided in time');
    await requesterDm(email, 'lapsed');
    expect((await h.sweep()).lapsed).toBeUndefined();
  });

  it('a request by a member with no Slack user (the API): the bootstrap admins hear of the decision in their place, as such, and the decider is not told of their own', async () => {
    const email = 'api-asked@elsewhere.io';
    const { member } = await h.services.members.create({ email: 'api-client@corp.test', role: 'admin', firstName: 'Api', lastName: 'Client' }, { type: 'system', name: 'cli:test' });
    const [id] = (await h.services.invites.inviteMany({ emails: email, actor: { type: 'member', memberId: member.id, name: 'Api Client' } })).awaitingApproval!.map((e) => e.invitationId);
    await h.services.invites.deny(id!, { type: 'slack', slackUserId: ADMIN2, name: 'Second Boss' }, 'Not a customer');
    const told = await eventually(() => {
      h.clock.advance(1_100);
      return h.dms(ADMIN).find((dm) => dm.args.text === `The invitation to ${email} was denied`);
    }, 10_000, 'the stand-in admin told of the decision');
    const text = textOf(told.args as any);
    expect(text).toContain(`<@${ADMIN2}> denied the invitation to *${email}*`);
    expect(text).not.toContain('your invitation');
    expect(text).toContain('Asked for by Api Client; the admins hear of it in their place.');
    const about = (user: string) => h.dms(user).filter((dm) => String(dm.args.text).includes(`invitation to ${email} was`));
    await h.settle();
    expect(about(ADMIN2)).toEqual([]);
    expect(about(LINKED)).toEqual([]);
  });

  it('Send new invitation on an expired invitation the rule holds waits for approval, as inviting the address again would', async () => {
    const email = 'renew-me@other.io';
    // Sent by the operator (never held), then expired unused.
    const { invitationIds } = await h.services.invites.inviteMany({ emails: email, actor: { type: 'system', name: 'cli' } });
    const id = invitationIds[0]!;
    h.clock.advance(7 * DAY + 1);
    const emailsBefore = h.smtp.to(email).length;
    const renewed = await h.services.invites.renew(id, { type: 'slack', slackUserId: ADMIN2, name: 'Second Boss' });
    expect(renewed).toMatchObject({ status: 'awaiting_approval', approval: { reasons: ['outside_domains'] } });
    // The approvers but the one who sent it anew are asked; the address gets nothing until then.
    await requestTo(LINKED, email);
    expect(h.dms(ADMIN2).filter((d) => String(d.args.text).startsWith(`Invitation to ${email} `))).toHaveLength(0);
    await expect(h.services.invites.approve(id, { type: 'slack', slackUserId: ADMIN2 })).rejects.toThrow(OwnRequest);
    expect(await h.db.db('outbox').where({ invitation_id: id, kind: 'invite_email', state: 'pending' })).toHaveLength(0);
    expect(h.smtp.to(email)).toHaveLength(emailsBefore);

    // From the table's button, the clicker is told it waits, and why.
    const other = (await h.services.invites.inviteMany({ emails: 'renew-too@other.io', actor: { type: 'system', name: 'cli' } })).invitationIds[0]!;
    h.clock.advance(7 * DAY + 1);
    const table = (await h.api.response((await h.slash('invites expired', ADMIN2)).responseId)).body;
    const click = await h.click(buttonFor(table.blocks, 'send_new_invitation', other), { user: ADMIN2 });
    expect(textOf((await h.api.response(click.responseId)).body)).toContain('A new invitation to *renew-too@other.io* waits for approval (the address is outside the allowed domains)');
    expect((await h.services.invites.get(other)).status).toBe('awaiting_approval');
  });

  it('a request revoked while it waits is withdrawn: every copy says so and loses its buttons', async () => {
    const email = 'withdrawn@other.io';
    const id = await hold(email);
    await Promise.all([requestTo(ADMIN2, email), requestTo(LINKED, email)]);
    await h.services.invites.revoke(id, { type: 'slack', slackUserId: ADMIN2, name: 'Second Boss' });
    const updated = await eventually(() => {
      h.clock.advance(1_100);
      return updatesOf(email).length >= 2 ? updatesOf(email) : undefined;
    }, 10_000, 'both copies updated');
    for (const u of updated) {
      expect(textOf(u.args as any)).toContain('Withdrawn (the invitation was revoked)');
      expect(JSON.stringify(u.args.blocks)).not.toContain('approval_approve');
    }
    // Revoked by someone else, the requester is told; revoking their own request tells nobody.
    expect(textOf((await requesterDm(email, 'withdrawn')).args as any)).toContain(`<@${ADMIN2}> revoked your invitation to *${email}*`);
    // The notice would be queued in the revoke's own transaction: none is, for the requester's own
    // revoke, nor for one by the Slack user linked to the member who asked through the API.
    const notices = (id: string) => h.db.db('outbox').where({ kind: 'slack_notice', invitation_id: id }).andWhere('payload', 'like', '%approval_decided%');
    const own = await hold('own-withdrawn@other.io');
    await h.services.invites.revoke(own, REQUESTER);
    const linkedMember = (await h.db.db('members').where({ slack_user_id: LINKED }).first()) as { id: string };
    const viaApi = (await h.services.invites.inviteMany({ emails: 'api-withdrawn@other.io', actor: { type: 'member', memberId: linkedMember.id, name: 'Lin' } })).awaitingApproval![0]!.invitationId;
    await h.services.invites.revoke(viaApi, { type: 'slack', slackUserId: LINKED, name: 'Lin' });
    expect(await notices(own)).toHaveLength(0);
    expect(await notices(viaApi)).toHaveLength(0);
    expect(await notices(id)).toHaveLength(1);
  });

  it('a bootstrap admin who also has a member account is one person: they approve neither their member\'s request nor the reverse', async () => {
    // Asked in Slack before their member account existed: the request names only their Slack user.
    const early = await hold('early-ask@other.io');
    // The README's set-up: the operator made themselves a member, then named their Slack user in SLACK_ADMIN_USER_IDS.
    const { member } = await h.services.members.create({ email: 'boss@corp.test', role: 'admin' }, { type: 'system', name: 'cli' });
    h.clock.advance(IDENTITY_CACHE_MS + 1);
    const asMember: Actor = { type: 'member', memberId: member.id, name: 'Boss' };
    const viaApi = (await h.services.invites.inviteMany({ emails: 'api-ask@other.io', actor: asMember })).awaitingApproval![0]!.invitationId;
    // Not linked yet, so the request reaches their Slack user too; their click links them, and is refused.
    const dm = await requestTo(ADMIN, 'api-ask@other.io');
    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_approve'), { user: ADMIN });
    expect(textOf((await h.api.response(click.responseId)).body)).toContain('someone else has to approve or deny it');
    expect((await h.db.db('members').where({ id: member.id }).first()).slack_user_id).toBe(ADMIN);
    expect((await h.services.invites.get(viaApi)).status).toBe('awaiting_approval');
    // The other way: asked in Slack, refused to the member's API token or session.
    const { responseId } = await h.slash('invite slack-ask@other.io', ADMIN);
    expect(textOf((await h.api.response(responseId)).body)).toContain('Waiting for approval (1)');
    const viaSlack = (await h.services.invites.list({ status: 'awaiting_approval', search: 'slack-ask@other.io' })).invitations[0]!.id;
    await expect(h.services.invites.approve(viaSlack, asMember)).rejects.toThrow(OwnRequest);
    // Linked after the request was made: still the same person.
    await expect(h.services.invites.approve(early, asMember)).rejects.toThrow(OwnRequest);
    // Linked now: a request from the member no longer reaches their Slack user.
    await h.services.invites.inviteMany({ emails: 'api-again@other.io', actor: asMember });
    await requestTo(ADMIN2, 'api-again@other.io');
    expect(h.dms(ADMIN).filter((d) => String(d.args.text).startsWith('Invitation to api-again@other.io'))).toHaveLength(0);
    expect(await h.db.db('audit_log').whereIn('action', ['approve', 'deny']).whereIn('subject_id', [viaApi, viaSlack, early])).toHaveLength(0);
  });

  /** The request for `n` addresses DM'd to `user`, `skip` such requests after the first. */
  const requestOf = (user: string, n: number, has: string) =>
    eventually(() => {
      h.clock.advance(1_100);
      return h.dms(user).find((dm) => String(dm.args.text).startsWith(`Invitations to ${n} people`) && JSON.stringify(dm.args.blocks).includes(has));
    }, 10_000, `the request for ${n} addresses (${has}) to ${user}`);
  const requestUpdates = (has: string) => h.api.callsTo('chat.update').filter((c) => String(c.args.text).startsWith('Invitations to ') && JSON.stringify(c.args.blocks).includes(has));
  const heldIds = async (domain: string) => ((await h.db.db('invitations').where('email', 'like', `%@${domain}`).orderBy('email').pluck('id')) as string[]);

  it('a list of outside addresses is one request: each approver gets one message naming them all; Approve all approves every one, every copy says so, and the requester hears once', async () => {
    const emails = ['g1@group.io', 'g2@group.io', 'g3@group.io'];
    const { responseId } = await h.slash(`invite ${emails.join(' ')}`);
    expect(textOf((await h.api.response(responseId)).body)).toContain('Waiting for approval (3)');
    const [a, b] = await Promise.all([requestOf(ADMIN2, 3, 'g1@group.io'), requestOf(LINKED, 3, 'g1@group.io')]);
    for (const dm of [a, b]) {
      const text = textOf(dm.args as any);
      expect(text).toContain(`<@${ADMIN}> asks to invite *3 people* as *Member*`);
      expect(text).toContain('*Why they need approval:* the address is outside the allowed domains.');
      for (const email of emails) expect(text).toContain(email);
      expect(buttonFor(dm.args.blocks, 'approval_approve').text.text).toBe('Approve all');
      expect(buttonFor(dm.args.blocks, 'approval_deny').text.text).toBe('Deny all');
    }
    // One message per approver for the request, none per address; the requester is not asked.
    for (const user of [ADMIN2, LINKED]) expect(h.dms(user).filter((dm) => /group\.io/.test(JSON.stringify(dm.args.blocks)))).toHaveLength(1);
    expect(h.dms(ADMIN).filter((dm) => String(dm.args.text).startsWith('Invitations to 3 people'))).toHaveLength(0);

    const click = await h.clickDm(b, buttonFor(b.args.blocks, 'approval_approve'), { user: LINKED });
    expect(click.ack.status).toBe(200);
    await eventually(() => emails.every((email) => h.smtp.to(email).length === 1), 10_000, 'the three emails');
    const ids = await heldIds('group.io');
    expect(await h.db.db('audit_log').where({ action: 'approve' }).whereIn('subject_id', ids)).toHaveLength(3);
    for (const id of ids) expect(await h.services.invites.get(id)).toMatchObject({ status: 'pending', approval: { decision: 'approved', decidedBy: `slack:${LINKED}` } });
    const updated = await eventually(() => (requestUpdates('g1@group.io').length >= 2 ? requestUpdates('g1@group.io') : undefined), 10_000, 'both copies updated');
    expect(new Set(updated.map((u) => u.args.channel))).toEqual(new Set([`D${ADMIN2.slice(1)}`, `D${LINKED.slice(1)}`]));
    for (const u of updated) {
      expect(textOf(u.args as any)).toContain(`3 invitations approved by <@${LINKED}>`);
      expect(JSON.stringify(u.args.blocks)).not.toContain('approval_approve');
    }
    const told = await eventually(() => {
      h.clock.advance(1_100);
      return h.dms(ADMIN).find((dm) => dm.args.text === 'Your 3 invitations were approved');
    }, 10_000, "the requester's DM");
    expect(textOf(told.args as any)).toContain(`<@${LINKED}> approved your 3 invitations to *g1@group.io*, *g2@group.io*, *g3@group.io*; they have been emailed.`);
    expect(h.dms(ADMIN).filter((dm) => /^Your (invitation|3 invitations)/.test(String(dm.args.text)) && JSON.stringify(dm.args.blocks).includes('group.io'))).toHaveLength(1);
    // A second click, on the copy drawn before, is told who decided and changes nothing.
    h.clock.advance(11_000);
    const late = await h.clickDm(a, buttonFor(a.args.blocks, 'approval_approve'), { user: ADMIN2 });
    expect(textOf((await h.api.response(late.responseId)).body)).toContain(`Already approved by <@${LINKED}>.`);
    expect(await h.db.db('audit_log').where({ action: 'approve' }).whereIn('subject_id', ids)).toHaveLength(3);
  });

  it('one invitation of a request decided alone (the CLI) shows on the request, which still offers the rest; Deny all then denies only those still waiting, with one reason', async () => {
    await h.services.invites.inviteMany({ emails: 'd1@deny.io d2@deny.io d3@deny.io', actor: REQUESTER });
    const dm = await requestOf(LINKED, 3, 'd1@deny.io');
    const [d1, d2, d3] = await heldIds('deny.io');
    await h.services.invites.approve(d1!, { type: 'system', name: 'ops' });
    const partly = await eventually(() => requestUpdates('d1@deny.io').find((u) => String(u.args.text) === 'Invitations to 3 people: 2 wait for approval'), 10_000, 'the copies redrawn');
    expect(textOf(partly.args as any)).toContain('1 invitation approved by the operator (ops)');
    expect(buttonFor(partly.args.blocks, 'approval_approve').text.text).toBe('Approve all');

    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_deny'), { user: LINKED });
    const opened = await eventually(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === click.payload.trigger_id), 5_000, 'the deny modal');
    expect(opened.args.view.title.text).toBe('Deny invitations');
    const submit = (user: string) =>
      h.interaction(
        viewSubmissionPayload({ user, triggerId: newTriggerId(), values: { [DENY_BLOCKS.reason]: { [DENY_INPUTS.reason]: { type: 'plain_text_input', value: 'Not this quarter' } } }, extra: { callback_id: DENY_MODAL, private_metadata: opened.args.view.private_metadata } }),
      );
    // The requester cannot deny their own request either.
    expect((await submit(ADMIN)).json).toMatchObject({ response_action: 'errors', errors: { [DENY_BLOCKS.reason]: expect.stringContaining('someone else') } });
    expect((await submit(LINKED)).text).toBe('');
    expect(await h.services.invites.get(d1!)).toMatchObject({ status: 'pending', approval: { decision: 'approved' } });
    for (const id of [d2!, d3!]) expect(await h.services.invites.get(id)).toMatchObject({ status: 'revoked', approval: { decision: 'denied', denyReason: 'Not this quarter' } });
    const done = await eventually(() => requestUpdates('d1@deny.io').find((u) => String(u.args.text) === 'Invitations to 3 people: decided'), 10_000, 'the copies redrawn once decided');
    expect(textOf(done.args as any)).toContain(`2 invitations denied by <@${LINKED}>`);
    expect(textOf(done.args as any)).toContain('Not this quarter');
    expect(JSON.stringify(done.args.blocks)).not.toContain('approval_deny');
    const told = await eventually(() => {
      h.clock.advance(1_100);
      return h.dms(ADMIN).find((dm) => dm.args.text === 'Your 2 invitations were denied');
    }, 10_000, "the requester's DM");
    expect(textOf(told.args as any)).toContain('Not this quarter');
    expect(h.smtp.to('d2@deny.io')).toHaveLength(0);
  });

  it('Approve all leaves an address that became a member meanwhile waiting, and says so to the approver', async () => {
    await h.services.invites.inviteMany({ emails: 'm1@member.io m2@member.io', actor: REQUESTER });
    const dm = await requestOf(LINKED, 2, 'm1@member.io');
    await h.services.members.create({ email: 'm2@member.io', role: 'member' }, { type: 'system', name: 'cli' });
    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_approve'), { user: LINKED });
    const answers = await eventually(() => (h.api.responsesTo(click.responseId).length >= 2 ? h.api.responsesTo(click.responseId) : undefined), 10_000, 'the answer and the redraw');
    expect(answers.map((r) => textOf(r.body)).join('\n')).toContain('Not approved, already 1 member: m2@member.io.');
    const [m1, m2] = await heldIds('member.io');
    expect((await h.services.invites.get(m1!)).status).toBe('pending');
    expect((await h.services.invites.get(m2!)).status).toBe('awaiting_approval');
  });

  it('a request lapses as one: its copies count the lapsed and the requester gets one DM', async () => {
    await h.services.invites.inviteMany({ emails: 'l1@lapse.io l2@lapse.io', actor: REQUESTER });
    await requestOf(ADMIN2, 2, 'l1@lapse.io');
    h.clock.advance(7 * DAY);
    await h.sweep();
    expect(await h.db.db('invitations').where('email', 'like', '%@lapse.io').pluck('decision')).toEqual(['lapsed', 'lapsed']);
    const updated = await eventually(() => requestUpdates('l1@lapse.io').find((u) => String(u.args.text) === 'Invitations to 2 people: decided'), 10_000, 'the copies redrawn');
    expect(textOf(updated.args as any)).toContain('2 invitations lapsed: nobody decided in time.');
    const told = await eventually(() => {
      h.clock.advance(1_100);
      return h.dms(ADMIN).find((dm) => dm.args.text === 'Your 2 invitations lapsed');
    }, 10_000, "the requester's DM");
    expect(textOf(told.args as any)).toContain('*l1@lapse.io*, *l2@lapse.io*');
  });

  it('a redraw Slack rate-limits part-way: the copies drawn are not drawn again, the rest are after its Retry-After', async () => {
    const email = 'limited@other.io';
    const id = await hold(email);
    await Promise.all([requestTo(ADMIN2, email), requestTo(LINKED, email)]);
    // Copies are redrawn in channel order: the second meets a 429 (once earlier tests' redraws are done, so it is this one's).
    const [first, second] = [`D${ADMIN2.slice(1)}`, `D${LINKED.slice(1)}`].sort();
    await eventually(async () => (await h.db.db('outbox').where({ kind: SLACK_APPROVAL, state: 'pending' })).length === 0, 10_000, 'earlier redraws done');
    const limited = () => h.api.failedCallsTo('chat.update').filter((c) => c.args.channel === second).length;
    const limitedBefore = limited();
    h.api.fail('chat.update', 429, { retryAfter: 2, times: 1, channel: second });
    await h.services.invites.revoke(id, { type: 'slack', slackUserId: ADMIN2, name: 'Second Boss' });
    const drawn = () => updatesOf(email).filter((c) => c.ok);
    await eventually(() => {
      h.clock.advance(1_100);
      return new Set(drawn().map((c) => c.args.channel)).size === 2;
    }, 15_000, 'both copies redrawn');
    expect(limited() - limitedBefore).toBe(1);
    expect(drawn().map((c) => c.args.channel)).toEqual([first, second]);
  });

  it('redraws queued one after another for a request: only the last redraws; an older instance\'s redraw naming one of its invitations redraws the request', async () => {
    await h.services.invites.inviteMany({ emails: 'r1@redraw.io r2@redraw.io', actor: REQUESTER });
    await Promise.all([requestOf(ADMIN2, 2, 'r1@redraw.io'), requestOf(LINKED, 2, 'r1@redraw.io')]);
    const [r1] = await heldIds('redraw.io');
    const requestId = (await h.services.invites.get(r1!)).approval!.requestId;
    // Both copies kept: a redraw before a copy is recorded leaves that copy to its post's own check, which sees nothing changed.
    await eventually(async () => (await h.db.db('approval_request_messages').where({ request_id: requestId })).length === 2, 10_000, 'both copies kept');
    const before = requestUpdates('r1@redraw.io').length;
    const now = h.clock.now();
    const item = (payload: object, kind: string = SLACK_APPROVAL) => ({ kind, state: 'pending', invitation_id: r1, payload: JSON.stringify(payload), attempts: 0, next_attempt_at: now, created_at: now });
    await h.db.db('outbox').insert([1, 2, 3].map(() => item({ op: 'update', requestId })));
    h.services.slackOutbox.wake();
    const redraws = () => h.db.db('outbox').where({ kind: SLACK_APPROVAL, payload: JSON.stringify({ op: 'update', requestId }) }).orderBy('id');
    await eventually(async () => (await redraws()).every((r: { state: string }) => r.state !== 'pending'), 10_000, 'the redraws settled');
    expect((await redraws()).map((r: { state: string }) => r.state)).toEqual(['cancelled', 'cancelled', 'done']);
    // Each of the two copies once.
    expect(requestUpdates('r1@redraw.io').length - before).toBe(2);
    // An older instance (a rolling upgrade) queues its redraw naming an invitation: its request is redrawn.
    await h.db.db('outbox').insert(item({ op: 'update', invitationId: r1 }, 'slack_approval'));
    h.services.slackOutbox.wake();
    await eventually(() => requestUpdates('r1@redraw.io').length - before === 4, 10_000, "the older instance's redraw");
  });

  it('Approve all decides what its message showed: a part added to the request after the message was drawn stays waiting, and the message is drawn anew', async () => {
    const approvalRequestId = newId('request');
    await h.services.invites.inviteMany({ emails: 's1@shown.io s2@shown.io', actor: REQUESTER, approvalRequestId });
    const dm = await requestOf(LINKED, 2, 's1@shown.io');
    // The request grows while the message's redraw has not happened yet (the worker stopped).
    await h.services.slackOutbox.stop();
    h.clock.advance(1_000);
    await h.services.invites.inviteMany({ emails: 's3@shown.io', actor: REQUESTER, approvalRequestId });
    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_approve'), { user: LINKED });
    const redrawn = await eventually(() => h.api.responsesTo(click.responseId).find((r) => String(r.body.text).startsWith('Invitations to 3 people')), 10_000, 'the clicked message drawn anew');
    expect(textOf(redrawn.body)).toContain(`2 invitations approved by <@${LINKED}>`);
    expect(buttonFor(redrawn.body.blocks, 'approval_approve').text.text).toBe('Approve all');
    h.services.slackOutbox.start();
    const [s1, s2, s3] = await heldIds('shown.io');
    for (const id of [s1!, s2!]) expect((await h.services.invites.get(id)).status).toBe('pending');
    expect((await h.services.invites.get(s3!)).status).toBe('awaiting_approval');
    // Clicked again, the old message has nothing left it showed: told so, nothing decided.
    h.clock.advance(11_000);
    const again = await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_approve'), { user: LINKED });
    expect(textOf((await h.api.response(again.responseId)).body)).toContain('the request has grown since');
    expect((await h.services.invites.get(s3!)).status).toBe('awaiting_approval');
  });

  it('a request decided before it was posted, then grown by a later batch of the same action (a file import), is posted with the newcomers', async () => {
    const approvalRequestId = newId('request');
    await h.services.slackOutbox.stop();
    const first = await h.services.invites.inviteMany({ emails: 'c1@grow.io', actor: REQUESTER, approvalRequestId });
    await h.services.invites.approve(first.awaitingApproval![0]!.invitationId, { type: 'system', name: 'ops' });
    h.services.slackOutbox.start();
    const posts = () => h.db.db('outbox').where({ kind: SLACK_APPROVAL }).andWhere('payload', 'like', `%"op":"post","requestId":"${approvalRequestId}"%`);
    await eventually(async () => (await posts()).every((r: { state: string }) => r.state === 'cancelled'), 10_000, 'the posts dropped, nothing left to ask');
    await h.services.invites.inviteMany({ emails: 'c2@grow.io', actor: REQUESTER, approvalRequestId });
    const dm = await requestOf(LINKED, 2, 'c2@grow.io');
    expect(textOf(dm.args as any)).toContain('1 invitation approved by the operator (ops)');
    expect(buttonFor(dm.args.blocks, 'approval_approve').text.text).toBe('Approve all');
  });

  it('a request posted before requests were kept (one invitation, queued by the older version) is posted and updated as before', async () => {
    const id = await hold('legacy@old.io');
    // As the older version left it: no request id, its post queued naming the invitation.
    await h.db.db('outbox').where({ kind: SLACK_APPROVAL, invitation_id: id }).delete();
    await h.db.db('invitations').where({ id }).update({ approval_request_id: null });
    await h.db.db('outbox').insert({ kind: 'slack_approval', state: 'pending', invitation_id: id, payload: JSON.stringify({ op: 'post', invitationId: id, recipient: ADMIN2 }), attempts: 0, next_attempt_at: h.clock.now(), created_at: h.clock.now() });
    h.services.slackOutbox.wake();
    const dm = await requestTo(ADMIN2, 'legacy@old.io');
    expect(buttonFor(dm.args.blocks, 'approval_approve').value).toMatch(new RegExp(`^a\\.${id}\\.\\d+$`));
    // A copy the older version posted is kept in approval_messages: moved there, it is still updated.
    const copy = await eventually(() => h.db.db('approval_request_messages').where({ request_id: id }).first(), 10_000, 'the copy kept');
    await h.db.db('approval_request_messages').where({ request_id: id }).delete();
    await h.db.db('approval_messages').insert({ invitation_id: id, channel: copy.channel, ts: copy.ts, created_at: copy.created_at });
    await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_approve'), { user: LINKED });
    const updated = await eventually(() => updatesOf('legacy@old.io').find((u) => u.args.channel === copy.channel && u.args.ts === copy.ts), 10_000, 'the old copy updated');
    expect(textOf(updated.args as any)).toContain(`Approved by <@${LINKED}>`);
  });

  it('with SLACK_APPROVAL_CHANNEL the request is posted once to the channel and updated there', async () => {
    await h.restart({ env: { INVITE_ALLOWED_DOMAINS: 'corp.test', SLACK_APPROVAL_CHANNEL: 'C0APPROVALS' } });
    const email = 'chan@other.io';
    const id = await hold(email);
    const posted = await eventually(() => h.api.callsTo('chat.postMessage').filter((c) => String(c.args.text).startsWith(`Invitation to ${email} `)), 10_000, 'the channel post');
    // The clock moves past the channel's pace, never near the outbox lease (120 s).
    let steps = 0;
    await eventually(() => {
      if (steps++ < 20) h.clock.advance(1_100);
      return h.api.callsTo('chat.postMessage').some((c) => c.args.channel === 'C0APPROVALS' && String(c.args.text).startsWith(`Invitation to ${email} `));
    }, 10_000, 'the channel post');
    expect(posted.every((c) => c.args.channel === 'C0APPROVALS')).toBe(true);
    // Decided once the post is recorded: a decision landing while it is still being recorded is redrawn
    // by the post and by the decision's own update, both (rightly) — not what this test is about.
    const { requestId } = (await h.services.invites.get(id)).approval!;
    await eventually(async () => (await h.db.db('outbox').where({ kind: SLACK_APPROVAL, state: 'pending' }).andWhere('payload', 'like', `%${requestId}%`).first()) === undefined, 10_000, 'the post recorded');
    await h.services.invites.approve(id, { type: 'slack', slackUserId: LINKED, name: 'Lin' });
    const updated = await eventually(() => (updatesOf(email).length ? updatesOf(email) : undefined), 10_000, 'the channel copy updated');
    expect(updated.map((u) => u.args.channel)).toEqual(['C0APPROVALS']);
  });

  it('an approver Doorman has not seen before denies from the channel: the modal\'s opening looks them up', async () => {
    await h.services.members.create({ email: 'newcomer@corp.test', role: 'admin' }, { type: 'system', name: 'cli' });
    h.api.users.set('U0NEWADM', { email: 'newcomer@corp.test', name: 'New Admin' });
    const email = 'deny-me@other.io';
    const id = await hold(email);
    const post = await eventually(() => {
      h.clock.advance(1_100);
      return h.api.callsTo('chat.postMessage').find((c) => c.args.channel === 'C0APPROVALS' && String(c.args.text).startsWith(`Invitation to ${email} `));
    }, 10_000, 'the channel post');
    const click = await h.clickDm(post, buttonFor(post.args.blocks, 'approval_deny'), { user: 'U0NEWADM' });
    const opened = await eventually(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === click.payload.trigger_id), 5_000, 'the deny modal');
    await eventually(async () => (await h.db.db('members').where({ email: 'newcomer@corp.test' }).first()).slack_user_id === 'U0NEWADM', 5_000, 'the approver linked');
    const denied = await h.interaction(
      viewSubmissionPayload({ user: 'U0NEWADM', triggerId: newTriggerId(), values: { [DENY_BLOCKS.reason]: { [DENY_INPUTS.reason]: { type: 'plain_text_input', value: 'Not ours' } } }, extra: { callback_id: DENY_MODAL, private_metadata: opened.args.view.private_metadata } }),
    );
    expect(denied.text).toBe('');
    expect(await h.services.invites.get(id)).toMatchObject({ status: 'revoked', approval: { decision: 'denied', denyReason: 'Not ours' } });
  });

  it('an approver demoted a moment ago (from the CLI) is refused with the approval permission\'s words, though Slack still knows them as an admin', async () => {
    const email = 'demoted-approver@other.io';
    const id = await hold(email);
    // Posted to the approval channel the tests before set up (or DM'd, without one).
    const dm = await eventually(() => {
      h.clock.advance(1_100);
      return h.api.callsTo('chat.postMessage').find((c) => String(c.args.text).startsWith(`Invitation to ${email} `));
    }, 10_000, 'the approval request');
    // Lin is seen by Slack now, and kept as an admin for a minute.
    await h.slash('invites', LINKED);
    await h.services.members.setRole(h.ids.linked, 'member', { type: 'system', name: 'cli:test' });
    try {
      const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'approval_approve'), { user: LINKED });
      expect(textOf((await h.api.response(click.responseId)).body)).toContain('You need the *Invite: Approve* permission');
      expect((await h.services.invites.get(id)).status).toBe('awaiting_approval');
    } finally {
      await h.services.members.setRole(h.ids.linked, 'admin', { type: 'system', name: 'cli:test' });
    }
    // Decided, so the later tests' lapses are theirs alone.
    await h.services.invites.deny(id, { type: 'slack', slackUserId: ADMIN2, name: 'Second Boss' }, 'cleaning up');
  });
});

export type { ApiCall };

describe('an approval channel the bot is not in', () => {
  it('keeps the requests, warns once how to add the bot, and posts them once it is added', async () => {
    const h = await SlackWorld.start('sqlite', { env: { INVITE_ALLOWED_DOMAINS: 'corp.test', SLACK_APPROVAL_CHANNEL: 'C0NOBOT' }, logLevel: 'warn' });
    try {
      for (const email of ['wait1@other.io', 'wait2@other.io']) await h.services.invites.inviteMany({ emails: email, actor: REQUESTER });
      const refusals = () => h.api.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0NOBOT' && c.error === 'not_in_channel');
      await eventually(() => {
        h.clock.advance(1_100);
        return refusals().length >= 2;
      }, 10_000, 'both posts refused');
      const warnings = h.log.entries().filter((e) => String(e.msg).startsWith('SLACK_APPROVAL_CHANNEL'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/the bot is not in C0NOBOT; add it there \(in the channel: \/invite @Doorman\)/);
      expect(await h.db.db('outbox').where({ kind: SLACK_APPROVAL, state: 'pending' })).toHaveLength(2);
      h.api.joinChannel('C0NOBOT');
      const posted = await eventually(() => {
        h.clock.advance(5_000);
        const posts = h.api.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0NOBOT');
        return posts.length === 2 ? posts : undefined;
      }, 20_000, 'both requests posted');
      expect(posted.map((c) => String(c.args.text).split(' ')[2]).sort()).toEqual(['wait1@other.io', 'wait2@other.io']);
      expect(h.api.rejected('not_in_channel')).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 45_000);
});

describe('an approval channel the bot may not post in (announcement-only)', () => {
  it('keeps the request, warns how to mend it, and posts it once Slack lets the bot post', async () => {
    const h = await SlackWorld.start('sqlite', { env: { INVITE_ALLOWED_DOMAINS: 'corp.test', SLACK_APPROVAL_CHANNEL: 'C0READONLY' }, logLevel: 'warn', channels: ['C0READONLY'] });
    try {
      h.api.refuse('chat.postMessage', 'restricted_action_read_only_channel', { channel: 'C0READONLY' });
      await h.services.invites.inviteMany({ emails: 'readonly@other.io', actor: REQUESTER });
      await eventually(() => {
        h.clock.advance(1_100);
        return h.api.calls.some((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0READONLY' && c.error === 'restricted_action_read_only_channel');
      }, 10_000, 'the post refused');
      const warning = await eventually(() => h.log.entries().find((e) => String(e.msg).startsWith('SLACK_APPROVAL_CHANNEL')), 5_000, 'the warning');
      expect(warning.msg).toMatch(/Slack does not let the bot post in C0READONLY/);
      expect(await h.db.db('outbox').where({ kind: SLACK_APPROVAL, state: 'pending' })).toHaveLength(1);
      const posted = await eventually(() => {
        h.clock.advance(5_000);
        return h.api.callsTo('chat.postMessage').find((c) => c.args.channel === 'C0READONLY' && String(c.args.text).startsWith('Invitation to readonly@other.io '));
      }, 20_000, 'the request posted');
      expect(posted).toBeDefined();
      expect(h.api.rejected('restricted_action_read_only_channel')).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 45_000);
});

describe('an approval channel corrected while requests wait for it', () => {
  it('a wrong id is named in the warning; once SLACK_APPROVAL_CHANNEL is corrected, or unset, the waiting requests go where requests go now', async () => {
    const h = await SlackWorld.start('sqlite', { env: { INVITE_ALLOWED_DOMAINS: 'corp.test', SLACK_APPROVAL_CHANNEL: 'G0WRONGID' }, logLevel: 'warn', channels: ['C0RIGHT'] });
    try {
      await h.services.invites.inviteMany({ emails: 'fixed1@other.io', actor: REQUESTER });
      await eventually(() => {
        h.clock.advance(1_100);
        return h.api.calls.some((c) => c.method === 'chat.postMessage' && c.args.channel === 'G0WRONGID' && c.error === 'channel_not_found');
      }, 10_000, 'the post refused');
      const warning = await eventually(() => h.log.entries().find((e) => String(e.msg).startsWith('SLACK_APPROVAL_CHANNEL')), 5_000, 'the warning');
      expect(warning.msg).toMatch(/Slack knows no channel G0WRONGID the bot can see; check the id/);
      await h.restart({ env: { SLACK_APPROVAL_CHANNEL: 'C0RIGHT' }, whileStopped: () => h.clock.advance(61_000) });
      const moved = await eventually(() => {
        h.clock.advance(5_000);
        return h.api.callsTo('chat.postMessage').find((c) => c.args.channel === 'C0RIGHT' && String(c.args.text).startsWith('Invitation to fixed1@other.io '));
      }, 20_000, 'the request in the corrected channel');
      expect(moved).toBeDefined();
      // Unset: the next waiting request goes to each approver but the requester, in a DM.
      await h.restart({ env: { SLACK_APPROVAL_CHANNEL: 'C0GONE' } });
      await h.services.invites.inviteMany({ emails: 'fixed2@other.io', actor: REQUESTER });
      await eventually(() => {
        h.clock.advance(1_100);
        return h.api.calls.some((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0GONE');
      }, 10_000, 'the post refused');
      await h.restart({ env: { SLACK_APPROVAL_CHANNEL: '' }, whileStopped: () => h.clock.advance(61_000) });
      await eventually(() => {
        h.clock.advance(5_000);
        return h.dms(ADMIN2).find((dm) => String(dm.args.text).startsWith('Invitation to fixed2@other.io '));
      }, 20_000, 'the request DM\'d to an approver');
      expect(h.api.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0RIGHT' && String(c.args.text).startsWith('Invitation to fixed2'))).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 60_000);
});
