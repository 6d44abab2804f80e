import type { types } from '@slack/bolt';
import type { Invitation } from '../../invites/model.js';
import { actorFromRef } from '../../shared/actor.js';
import { approvalWords } from '../../invites/policy.js';
import { ACTIONS, DENY_BLOCKS, DENY_INPUTS, DENY_MODAL, encodeApproval, type ApprovalTarget } from '../action-values.js';
import { count, inviterWords, listWithin, mrkdwn, plain, roleLabel, slackDate } from './format.js';
import { clip, LIMITS, type Block } from './limits.js';
import { escape, neutralize } from '../text.js';

/** Who asked for an invitation, as people read it. */
function requester(invitation: Invitation): string {
  return inviterWords(invitation) ?? 'Someone';
}

/** Who decided, as people read it: a Slack mention when a Slack user did. */
export function decider(approval: NonNullable<Invitation['approval']>): string {
  const by = actorFromRef(approval.decidedBy);
  if (by.type === 'slack') return `<@${by.slackUserId}>`;
  return approval.decidedByName ? neutralize(clip(approval.decidedByName, 100)) : 'someone';
}

/** The outcome line of a request no longer waiting, as everyone who was asked sees it. */
function outcome(invitation: Invitation): string {
  const approval = invitation.approval;
  switch (approval?.decision) {
    case 'approved':
      return `:white_check_mark: Approved by ${decider(approval)} ${slackDate(approval.decidedAt ?? invitation.updatedAt)}; the invitation was emailed.`;
    case 'denied':
      return `:no_entry_sign: Denied by ${decider(approval)} ${slackDate(approval.decidedAt ?? invitation.updatedAt)}: ${escape(clip(approval.denyReason ?? '', 600))}`;
    case 'lapsed':
      return ':hourglass: Lapsed: nobody decided in time. Nothing was sent.';
    default:
      return invitation.status === 'revoked' ? ':no_entry_sign: Withdrawn (the invitation was revoked). Nothing was sent.' : ':information_source: No longer waiting for approval.';
  }
}

/**
 * The approval request posted to SLACK_APPROVAL_CHANNEL or DM'd to each approver: who asked, for
 * whom, which role and why, with Approve and Deny while it waits; once decided, the same message
 * for everyone says how it ended (updated in place). A request of several invitations (one
 * inviting action) is one message, with Approve all and Deny all.
 */
export function approvalRequest(invitations: readonly Invitation[]): { text: string; blocks: Block[] } {
  return invitations.length === 1 ? oneInvitation(invitations[0]!) : severalInvitations(invitations);
}

/** Approve and Deny, both carrying what they decide. */
function decisionButtons(target: ApprovalTarget, approve: string, deny: string): types.ActionsBlock {
  const value = encodeApproval(target);
  return {
    type: 'actions',
    block_id: 'approval_actions',
    elements: [
      { type: 'button', action_id: ACTIONS.approve, text: plain(approve, LIMITS.buttonText), style: 'primary', value },
      { type: 'button', action_id: ACTIONS.deny, text: plain(deny, LIMITS.buttonText), style: 'danger', value },
    ],
  };
}

function oneInvitation(invitation: Invitation): { text: string; blocks: Block[] } {
  const waiting = invitation.status === 'awaiting_approval';
  const headline = `${requester(invitation)} asks to invite *${escape(clip(invitation.email, 300))}* as *${roleLabel(invitation.role)}*.`;
  const blocks: Block[] = [
    { type: 'section', text: mrkdwn(`:raised_hand: ${headline}`) },
    { type: 'section', text: mrkdwn(`*Why it needs approval:* ${escape(approvalWords(invitation))}.`) },
  ];
  if (invitation.message) blocks.push({ type: 'context', elements: [mrkdwn(`Their message: ${neutralize(clip(invitation.message, 500))}`)] });
  if (waiting) {
    // Held again in place (sent anew, raised to admin), it keeps its created_at: its updated_at is when it was held.
    blocks.push({ type: 'context', elements: [mrkdwn(`Asked ${slackDate(invitation.updatedAt)} · lapses ${slackDate(invitation.expiresAt)} if nobody decides.`)] });
    blocks.push(decisionButtons({ kind: 'invitation', id: invitation.id, heldUpTo: invitation.updatedAt }, 'Approve', 'Deny'));
  } else {
    blocks.push({ type: 'section', text: mrkdwn(outcome(invitation)) });
  }
  const state = waiting ? 'waits for approval' : (invitation.approval?.decision ?? invitation.status);
  return { text: `Invitation to ${invitation.email} as ${roleLabel(invitation.role)}: ${state}`, blocks };
}

/** How each invitation of a request stands, as a mark before its address. */
const MARKS = { waiting: '•', approved: ':white_check_mark:', denied: ':no_entry_sign:', lapsed: ':hourglass:', withdrawn: ':no_entry_sign:' } as const;

function standing(invitation: Invitation): keyof typeof MARKS {
  if (invitation.status === 'awaiting_approval') return 'waiting';
  return invitation.approval?.decision ?? 'withdrawn';
}

/** One line per way the decided ones ended (by whom, when), as everyone who was asked sees it. */
function outcomes(decided: readonly Invitation[]): string[] {
  const lines = new Map<string, { first: Invitation; n: number }>();
  for (const invitation of decided) {
    const approval = invitation.approval;
    const key = `${standing(invitation)}|${approval?.decidedBy ?? invitation.revokedBy}|${approval?.denyReason ?? ''}`;
    const line = lines.get(key) ?? { first: invitation, n: 0 };
    line.n++;
    lines.set(key, line);
  }
  return [...lines.values()].map(({ first, n }) => {
    const approval = first.approval;
    const how = count(n, 'invitation');
    switch (approval?.decision) {
      case 'approved':
        return `:white_check_mark: ${how} approved by ${decider(approval)} ${slackDate(approval.decidedAt ?? first.updatedAt)}, and emailed.`;
      case 'denied':
        return `:no_entry_sign: ${how} denied by ${decider(approval)} ${slackDate(approval.decidedAt ?? first.updatedAt)}: ${escape(clip(approval.denyReason ?? '', 600))}`;
      case 'lapsed':
        return `:hourglass: ${how} lapsed: nobody decided in time. Nothing was sent.`;
      default:
        return `:no_entry_sign: ${how} withdrawn (revoked). Nothing was sent.`;
    }
  });
}

function severalInvitations(invitations: readonly Invitation[]): { text: string; blocks: Block[] } {
  const first = invitations[0]!;
  const waiting = invitations.filter((invitation) => invitation.status === 'awaiting_approval');
  const roles = [...new Set(invitations.map((invitation) => invitation.role))];
  const asRole = roles.length === 1 ? ` as *${roleLabel(roles[0]!)}*` : '';
  const reasons = [...new Set(invitations.map((invitation) => approvalWords(invitation)))];
  const lines = invitations.map((invitation) => `${MARKS[standing(invitation)]} ${escape(clip(invitation.email, 100))}${roles.length > 1 ? ` (${roleLabel(invitation.role)})` : ''}`);
  const blocks: Block[] = [
    { type: 'section', text: mrkdwn(`:raised_hand: ${requester(first)} asks to invite *${count(invitations.length, 'person', 'people')}*${asRole}.`) },
    { type: 'section', text: mrkdwn(`*Why they need approval:* ${escape(reasons.join('; '))}.`) },
    { type: 'section', text: mrkdwn(listWithin(lines, 2_900)) },
  ];
  if (first.message) blocks.push({ type: 'context', elements: [mrkdwn(`Their message: ${neutralize(clip(first.message, 500))}`)] });
  const decided = invitations.filter((invitation) => invitation.status !== 'awaiting_approval');
  if (decided.length) blocks.push({ type: 'section', text: mrkdwn(listWithin(outcomes(decided), 2_900)) });
  if (waiting.length) {
    const lapses = waiting.reduce((soonest, invitation) => Math.min(soonest, invitation.expiresAt), Infinity);
    const asked = waiting.reduce((soonest, invitation) => Math.min(soonest, invitation.updatedAt), Infinity);
    blocks.push({ type: 'context', elements: [mrkdwn(`${count(waiting.length, 'invitation')} waiting · asked ${slackDate(asked)} · lapses ${slackDate(lapses)} if nobody decides.`)] });
    // The waiting ones shown here: held up to the latest of them (a held invitation's updated_at is when it was held).
    const heldUpTo = waiting.reduce((latest, invitation) => Math.max(latest, invitation.updatedAt), 0);
    blocks.push(decisionButtons({ kind: 'request', id: first.approval?.requestId ?? first.id, heldUpTo }, 'Approve all', 'Deny all'));
  }
  const state = waiting.length ? `${waiting.length.toLocaleString('en')} wait for approval` : 'decided';
  return { text: `Invitations to ${count(invitations.length, 'person', 'people')}: ${state}`, blocks };
}

/**
 * The requester's DM once their request is decided, has lapsed, or was revoked by someone else;
 * `asRequester` false: the DM of an admin who hears in the requester's place. The invitations of
 * one request decided together are one DM.
 */
export function approvalDecidedNotice(invitations: readonly Invitation[], asRequester = true): { text: string; blocks: Block[] } {
  return invitations.length === 1 ? oneDecided(invitations[0]!, asRequester) : severalDecided(invitations, asRequester);
}

function oneDecided(invitation: Invitation, asRequester: boolean): { text: string; blocks: Block[] } {
  const approval = invitation.approval;
  const who = `*${escape(clip(invitation.email, 300))}* (${roleLabel(invitation.role)})`;
  const whose = asRequester ? 'your invitation' : 'the invitation';
  const Whose = asRequester ? 'Your invitation' : 'The invitation';
  let line: string;
  let text: string;
  switch (approval?.decision) {
    case 'approved':
      line = `:white_check_mark: ${decider(approval)} approved ${whose} to ${who}; it has been emailed.`;
      text = `${Whose} to ${invitation.email} was approved`;
      break;
    case 'denied':
      line = `:no_entry_sign: ${decider(approval)} denied ${whose} to ${who}. Nothing was sent.\n>${escape(clip(approval.denyReason ?? '', 600))}`;
      text = `${Whose} to ${invitation.email} was denied`;
      break;
    case 'lapsed':
      line = `:hourglass: Nobody decided on ${whose} to ${who} in time, so the request lapsed. Nothing was sent; invite the address again to ask anew.`;
      text = `${Whose} to ${invitation.email} lapsed`;
      break;
    default: {
      const revoker = actorFromRef(invitation.revokedBy);
      const by = revoker.type === 'slack' ? `<@${revoker.slackUserId}>` : 'An admin';
      line = `:no_entry_sign: ${by} revoked ${whose} to ${who} while it waited for approval. Nothing was sent.`;
      text = `${Whose} to ${invitation.email} was withdrawn`;
    }
  }
  const blocks: Block[] = [{ type: 'section', text: mrkdwn(line) }];
  if (!asRequester) blocks.push({ type: 'context', elements: [mrkdwn(`Asked for by ${inviterWords(invitation) ?? 'an API client'}; the admins hear of it in their place.`)] });
  return { text, blocks };
}

/** The invitations of one request decided together (one approver's Approve all, or one lapse). */
function severalDecided(invitations: readonly Invitation[], asRequester: boolean): { text: string; blocks: Block[] } {
  const first = invitations[0]!;
  const approval = first.approval;
  const n = count(invitations.length, 'invitation');
  const whose = asRequester ? `your ${n}` : n;
  const Whose = asRequester ? `Your ${n}` : n.charAt(0).toUpperCase() + n.slice(1);
  const to = listWithin(invitations.map((invitation) => `*${escape(clip(invitation.email, 100))}*`), 2_000, ', ');
  let line: string;
  let text: string;
  switch (approval?.decision) {
    case 'approved':
      line = `:white_check_mark: ${decider(approval)} approved ${whose} to ${to}; they have been emailed.`;
      text = `${Whose} were approved`;
      break;
    case 'denied':
      line = `:no_entry_sign: ${decider(approval)} denied ${whose} to ${to}. Nothing was sent.\n>${escape(clip(approval.denyReason ?? '', 600))}`;
      text = `${Whose} were denied`;
      break;
    case 'lapsed':
      line = `:hourglass: Nobody decided on ${whose} to ${to} in time, so the request lapsed. Nothing was sent; invite the addresses again to ask anew.`;
      text = `${Whose} lapsed`;
      break;
    default:
      line = `:no_entry_sign: ${whose} to ${to} were revoked while they waited for approval. Nothing was sent.`;
      text = `${Whose} were withdrawn`;
  }
  const blocks: Block[] = [{ type: 'section', text: mrkdwn(line) }];
  if (!asRequester) blocks.push({ type: 'context', elements: [mrkdwn(`Asked for by ${inviterWords(first) ?? 'an API client'}; the admins hear of it in their place.`)] });
  return { text, blocks };
}

/** The modal Deny opens: a reason the requester will read. */
export function denyModal(target: ApprovalTarget): types.ModalView {
  return {
    type: 'modal',
    callback_id: DENY_MODAL,
    private_metadata: encodeApproval(target),
    title: plain(target.kind === 'request' ? 'Deny invitations' : 'Deny invitation', LIMITS.modalTitle),
    submit: plain('Deny', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks: [
      {
        type: 'input',
        block_id: DENY_BLOCKS.reason,
        label: plain('Why? The person who asked reads this.', LIMITS.inputLabel),
        element: { type: 'plain_text_input', action_id: DENY_INPUTS.reason, multiline: true, max_length: 500, placeholder: plain('e.g. Contractors are invited by IT.', 150) },
      },
    ],
  };
}
