import { describe, expect, it } from 'vitest';
import type { Invitation } from '../../src/invites/model.js';
import { decodeApproval, encodeApproval } from '../../src/slack/action-values.js';
import { approvalDecidedNotice, approvalRequest, denyModal } from '../../src/slack/blocks/approvals.js';
import { inviteSummary } from '../../src/slack/blocks/invite-summary.js';
import { limitViolations } from '../../src/slack/blocks/limits.js';
import { reviewView } from '../../src/slack/blocks/invite-modal.js';
import { parseAllowedDomains } from '../../src/invites/policy.js';
import type { InviteDraft } from '../../src/slack/drafts.js';

const T0 = Date.UTC(2026, 11, 5, 9, 0, 0);
const ID = 'invite_01JAPPROVAL00000000000000';
const REQUEST = 'request_01JREQVEST0000000000000000';

function held(overrides: Partial<Invitation> = {}): Invitation {
  return {
    id: ID,
    email: 'out@other.io',
    role: 'admin',
    status: 'awaiting_approval',
    expiresAt: T0 + 7 * 86_400_000,
    createdAt: T0,
    updatedAt: T0,
    lastSentAt: T0,
    sendCount: 0,
    invitedBy: { memberId: null, slackUserId: 'U0ANA', name: 'Ana' },
    acceptedAt: null,
    acceptedMemberId: null,
    revokedAt: null,
    revokedBy: null,
    delivery: { state: 'queued', error: null },
    metadata: null,
    message: 'A *contractor* for Q1',
    approval: { reasons: ['outside_domains', 'admin_role'], decision: null, decidedAt: null, decidedBy: null, decidedByName: null, denyReason: null, requestId: ID },
    ...overrides,
  };
}

describe('approval Block Kit', () => {
  it('a waiting request: who asked, for whom, role, why, Approve and Deny; within Slack limits', () => {
    const message = approvalRequest([held()]);
    expect(message).toMatchSnapshot();
    expect(limitViolations('message', message.blocks)).toEqual([]);
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('<@U0ANA> asks to invite *out@other.io* as *Admin*');
    expect(text).toContain('the address is outside the allowed domains; the admin role needs approval');
    // The personal message cannot format or mention.
    expect(text).not.toContain('A *contractor*');
    // Held again in place a month later (sent anew): asked when it was held, not when first made.
    const later = T0 + 31 * 86_400_000;
    const again = JSON.stringify(approvalRequest([held({ updatedAt: later, expiresAt: later + 7 * 86_400_000 })]).blocks);
    expect(again).toContain(`Asked <!date^${Math.floor(later / 1000)}^`);
    const many = JSON.stringify(approvalRequest([held(), held({ id: 'invite_01JAPPROVAL00000000000001', email: 'two@other.io', updatedAt: later, expiresAt: later + 7 * 86_400_000 })].map((i) => ({ ...i, createdAt: T0 - 86_400_000, approval: { ...i.approval!, requestId: REQUEST } }))).blocks);
    expect(many).toContain(`asked <!date^${Math.floor(T0 / 1000)}^`);
  });

  it('decided, denied, lapsed or withdrawn: the same message without buttons, saying how it ended', () => {
    const approval = held().approval!;
    const approved = approvalRequest([held({ status: 'pending', approval: { ...approval, decision: 'approved', decidedAt: T0, decidedBy: 'slack:U0BEN', decidedByName: 'Ben' } })]);
    const denied = approvalRequest([held({ status: 'revoked', approval: { ...approval, decision: 'denied', decidedAt: T0, decidedBy: 'member:usr_1', decidedByName: 'Ben <b>', denyReason: 'Not <@U0ALL> now' } })]);
    const lapsed = approvalRequest([held({ status: 'revoked', approval: { ...approval, decision: 'lapsed', decidedAt: T0, decidedBy: 'system', decidedByName: 'nobody' } })]);
    const withdrawn = approvalRequest([held({ status: 'revoked' })]);
    for (const m of [approved, denied, lapsed, withdrawn]) {
      expect(JSON.stringify(m.blocks)).not.toContain('approval_approve');
      expect(limitViolations('message', m.blocks)).toEqual([]);
    }
    expect(JSON.stringify(approved.blocks)).toContain(':white_check_mark: Approved by <@U0BEN>');
    expect(JSON.stringify(denied.blocks)).toContain('Denied by Ben &lt;b&gt;');
    expect(JSON.stringify(denied.blocks)).toContain('Not &lt;@U0ALL&gt; now');
    expect(JSON.stringify(lapsed.blocks)).toContain('Lapsed: nobody decided in time');
    expect(JSON.stringify(withdrawn.blocks)).toContain('Withdrawn');
    expect(approvalDecidedNotice([held({ status: 'revoked', approval: { ...approval, decision: 'denied', decidedBy: 'slack:U0BEN', denyReason: 'No' } })]).text).toBe('Your invitation to out@other.io was denied');
  });

  it('the deny modal asks for a reason and carries the invitation id', () => {
    const modal = denyModal({ kind: 'invitation', id: ID });
    expect(modal).toMatchSnapshot();
    expect(limitViolations('modal', modal.blocks, { title: (modal.title as { text: string }).text })).toEqual([]);
    expect(decodeApproval(modal.private_metadata)).toEqual({ kind: 'invitation', id: ID });
  });

  it('Approve and Deny values are read strictly', () => {
    expect(decodeApproval(encodeApproval({ kind: 'invitation', id: ID }))).toEqual({ kind: 'invitation', id: ID });
    expect(decodeApproval(encodeApproval({ kind: 'request', id: REQUEST }))).toEqual({ kind: 'request', id: REQUEST });
    expect(decodeApproval(encodeApproval({ kind: 'request', id: REQUEST, heldUpTo: T0 }))).toEqual({ kind: 'request', id: REQUEST, heldUpTo: T0 });
    expect(decodeApproval(encodeApproval({ kind: 'invitation', id: ID, heldUpTo: T0 }))).toEqual({ kind: 'invitation', id: ID, heldUpTo: T0 });
    for (const forged of [`a.${ID}.`, `a.${ID}.12x`, `a.${ID}.1.2`, ID, 'a.', 'a.invite_', 'a.invite_01/../x', 'a.invite_01 x', `a.invite_${'A'.repeat(60)}`, `r.${ID}`, 'r.request_01/../x', `a.${REQUEST}`, 'r.request_01jlower0000000000000000000', `r.${REQUEST}.`, `r.${REQUEST}.12x`, `r.${REQUEST}.1.2`, `r.${REQUEST}.-1`, 42, null, { id: ID }]) expect(decodeApproval(forged)).toBeUndefined();
  });

  it('a request of 3,000 invitations, some decided: one message within Slack limits, the rest counted; Approve all / Deny all carry the request', () => {
    const approval = held().approval!;
    const long = (i: number) => `${'x'.repeat(120)}${i}@<b>other.io`;
    const invitations = Array.from({ length: 3_000 }, (_, i) => {
      const id = `invite_01JREQ${String(i).padStart(20, '0')}`;
      const base = { id, email: long(i), role: (i % 2 ? 'admin' : 'member') as Invitation['role'], approval: { ...approval, requestId: REQUEST } };
      if (i < 10) return held({ ...base, status: 'pending', approval: { ...base.approval, decision: 'approved', decidedAt: T0, decidedBy: 'slack:U0BEN', decidedByName: 'Ben' } });
      if (i < 15) return held({ ...base, status: 'revoked', approval: { ...base.approval, decision: 'denied', decidedAt: T0, decidedBy: 'slack:U0BEN', denyReason: `No ${'<&>'.repeat(300)}` } });
      return held(base);
    });
    const message = approvalRequest(invitations);
    expect(limitViolations('message', message.blocks)).toEqual([]);
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('<@U0ANA> asks to invite *3,000 people*.');
    expect(text).toContain('…and ');
    expect(text).toContain('10 invitations approved by <@U0BEN>');
    expect(text).toContain('5 invitations denied by <@U0BEN>');
    expect(text).toContain('2,985 invitations waiting');
    // Addresses are escaped, so none can format or mention.
    expect(text).not.toContain('<b>');
    // The buttons decide what the message showed: the request's invitations held up to the latest shown.
    expect(buttonOf(message.blocks, 'approval_approve')).toMatchObject({ text: { text: 'Approve all' }, value: `r.${REQUEST}.${T0}` });
    expect(buttonOf(message.blocks, 'approval_deny')).toMatchObject({ text: { text: 'Deny all' }, value: `r.${REQUEST}.${T0}` });
    expect(message.text).toBe('Invitations to 3,000 people: 2,985 wait for approval');
    const denied = invitations.slice(10, 15);
    for (const told of [approvalDecidedNotice(invitations.slice(15)), approvalDecidedNotice(denied), approvalDecidedNotice(denied, false)]) {
      expect(limitViolations('message', told.blocks)).toEqual([]);
    }
    expect(approvalDecidedNotice(denied).text).toBe('Your 5 invitations were denied');
    const modal = denyModal({ kind: 'request', id: REQUEST });
    expect(limitViolations('modal', modal.blocks, { title: (modal.title as { text: string }).text })).toEqual([]);
    expect(decodeApproval(modal.private_metadata)).toEqual({ kind: 'request', id: REQUEST });
  });

  it('the invite summary names the entries waiting for approval and those over today\'s limit', () => {
    const summary = inviteSummary(
      { sent: ['a@acme.com'], renewed: [], alreadyMember: [], alreadyInvited: [], invalid: [], invitationIds: ['invite_01A'], awaitingApproval: [{ email: 'out@other.io', invitationId: ID, reasons: ['outside_domains'] }], overLimit: ['late@acme.com'] },
      '/doorman',
    );
    const text = JSON.stringify(summary.blocks);
    expect(text).toContain('Waiting for approval (1)');
    expect(text).toContain('out@other.io — the address is outside the allowed domains');
    expect(text).toContain("Not invited — over today's limit (1)");
    expect(text).toContain('late@acme.com');
    expect(summary.text).toBe("Sent 1; waiting for approval 1; over today's limit 1; skipped 0; invalid 0.");
  });

  it('the invite form\'s review names the addresses that will wait for approval, and why', () => {
    const allowed = parseAllowedDomains('acme.com');
    if ('problem' in allowed) throw new Error(allowed.problem);
    const review = { fresh: ['a@acme.com', 'b@other.io'], renew: ['c@else.io'], alreadyInvited: [], alreadyAwaiting: [], alreadyMember: [], invalid: [], typos: [] };
    const draft: InviteDraft = { typed: '', people: [], role: 'member', expiresInDays: null, message: null, review, peoplePending: false };
    const text = JSON.stringify(reviewView('draft_1', draft, { allowedDomains: allowed.patterns, dailyLimit: 10, unlimitedSlackUserIds: [] }).blocks);
    expect(text).toContain('Of these, waiting for approval before they are emailed (2)');
    expect(text).toContain('b@other.io — the address is outside the allowed domains');
    expect(text).not.toContain('a@acme.com — ');
    const asAdmin = JSON.stringify(reviewView('draft_1', { ...draft, role: 'admin' }, { dailyLimit: 10, unlimitedSlackUserIds: [] }).blocks);
    expect(asAdmin).toContain('waiting for approval before they are emailed (3)');
    expect(JSON.stringify(reviewView('draft_1', draft).blocks)).not.toContain('waiting for approval');
  });

  it('the review lists addresses already waiting for approval as skipped, without the resend box (their link cannot be resent)', () => {
    const review = { fresh: [], renew: [], alreadyInvited: [], alreadyAwaiting: [{ email: 'held@other.io', invitationId: 'invite_01HELD' }], alreadyMember: [], invalid: [], typos: [] };
    const draft: InviteDraft = { typed: 'held@other.io', people: [], role: 'member', expiresInDays: null, message: null, review, peoplePending: false };
    const view = reviewView('draft_1', draft);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('Already waiting for approval (skipped) (1)');
    expect(text).toContain('held@other.io');
    expect(text).not.toContain('Already invited');
    expect(view.blocks.some((b) => b.type === 'input')).toBe(false);
    // A draft saved before this group existed still shows.
    const { alreadyAwaiting: _, ...older } = review;
    expect(JSON.stringify(reviewView('draft_1', { ...draft, review: older as typeof review }).blocks)).toContain('Nothing to send.');
  });
});

function buttonOf(blocks: readonly unknown[], actionId: string): unknown {
  for (const block of blocks as Array<{ type: string; elements?: Array<{ action_id?: string }> }>) {
    const found = block.elements?.find((e) => e.action_id === actionId);
    if (found) return found;
  }
  return undefined;
}
