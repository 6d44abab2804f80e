import type { types } from '@slack/bolt';
import type { Invitation } from '../../invites/model.js';
import { ROLES, type Role } from '../../members/roles.js';
import type { RenewalRequest } from '../../invites/renewal-requests.js';
import { SLACK_USER_ID } from '../../shared/actor.js';
import { ACTIONS, DEFAULT_TABLE, encodeMemberRole, encodeRow } from '../action-values.js';
import { count, deliveryProblem, invitationButtons, inviterWords, mrkdwn, notice, plain, roleLabel, slackDate, STATUS_LABELS } from './format.js';
import { clip, LIMITS, type Block } from './limits.js';
import { escape, neutralize } from '../text.js';

/** Invitations shown one by one in a notice DM; the rest are counted, with a way to see them all. */
export const NOTICE_ROWS = 10;

export interface ListNoticeData {
  noticeId: number;
  kind: 'expired' | 'reminder';
  /** The notice's invitations as they are now, in the notice's order (at most NOTICE_ROWS). */
  invitations: Invitation[];
  /** How many invitations the notice is about. */
  total: number;
  /** How many of them are still as the notice tells (expired; for a reminder, pending and not resent since): the headline says so, and "Send new invitations to all" counts them. */
  still: number;
  /** What the last click did. */
  notice?: string;
}

function invitedBy(invitation: Invitation): string {
  const who = inviterWords(invitation);
  return who ? ` by ${who}` : '';
}

function row(invitation: Invitation, kind: ListNoticeData['kind']): types.SectionBlock {
  const when = kind === 'reminder' && invitation.status === 'pending' ? `expires ${slackDate(invitation.expiresAt)}` : STATUS_LABELS[invitation.status];
  const problem = deliveryProblem(invitation);
  return {
    type: 'section',
    text: mrkdwn(`*${escape(clip(invitation.email, 300))}* · ${roleLabel(invitation.role)}\nInvited ${slackDate(invitation.createdAt)}${invitedBy(invitation)} · ${when}${problem ? `\n${problem}` : ''}`),
  };
}

/**
 * What the notice tells, with how many of its invitations it still holds for once some changed
 * (sent anew or resent, accepted, revoked): a redrawn notice never claims more than is so.
 */
function listHeadline(data: ListNoticeData): string {
  const all = count(data.total, 'invitation');
  const them = data.total === 1 ? 'it' : 'of them';
  if (data.kind === 'expired') {
    if (data.still >= data.total) return `:warning: *${all} expired* and can no longer be accepted.`;
    if (data.still === 0) return `:warning: *${all} expired*; none is expired any more.`;
    return `:warning: *${all} expired*; ${data.still.toLocaleString('en')} ${them} ${data.still === 1 ? 'is' : 'are'} still expired.`;
  }
  if (data.still >= data.total) return `:hourglass_flowing_sand: *${all} will expire soon* and ${data.total === 1 ? 'has' : 'have'} not been accepted yet.`;
  // Accepted, revoked, or resent (a new expiry) since.
  const were = `:hourglass_flowing_sand: *${all} ${data.total === 1 ? 'was' : 'were'} about to expire*`;
  if (data.still === 0) return `${were}; ${data.total === 1 ? 'it is no longer' : 'none is still'} due to expire.`;
  return `${were}; ${data.still.toLocaleString('en')} ${them} ${data.still === 1 ? 'is' : 'are'} still due to expire.`;
}

/**
 * The expiry DM (the rule "Expiry notices") and the reminder DM: one per recipient per sweep, each invitation with
 * the buttons its current state allows (Send new invitation for expired, Resend for pending).
 */
export function listNotice(data: ListNoticeData): { text: string; blocks: Block[] } {
  const headline = listHeadline(data);
  const blocks: Block[] = [{ type: 'section', text: mrkdwn(headline) }];
  if (data.notice) blocks.push(notice(data.notice));
  blocks.push({ type: 'divider' });
  data.invitations.slice(0, NOTICE_ROWS).forEach((invitation, i) => {
    blocks.push(row(invitation, data.kind));
    const buttons = invitationButtons(invitation, 'notice', DEFAULT_TABLE, i, data.noticeId);
    if (buttons) blocks.push(buttons);
  });
  const more = data.total - Math.min(data.invitations.length, NOTICE_ROWS);
  const actions: types.Button[] = [];
  if (data.kind === 'expired' && data.still > 1) {
    actions.push({
      type: 'button',
      action_id: ACTIONS.noticeRenewAll,
      text: plain(`Send new invitations to all (${data.still.toLocaleString('en')})`, LIMITS.buttonText),
      style: 'primary',
      value: String(data.noticeId),
      confirm: {
        title: plain('Send new invitations?', LIMITS.confirmTitle),
        text: plain(`Each of the ${data.still.toLocaleString('en')} people still expired gets a new link by email.`, LIMITS.confirmText),
        confirm: plain('Send them', LIMITS.confirmButton),
        deny: plain('Cancel', LIMITS.confirmButton),
      },
    });
  }
  if (more > 0) {
    blocks.push({ type: 'context', elements: [mrkdwn(`…and ${count(more, 'more invitation')}.`)] });
    actions.push({ type: 'button', action_id: ACTIONS.noticeShowList, text: plain(data.kind === 'expired' ? 'Show expired invitations' : 'Show pending invitations', LIMITS.buttonText), value: String(data.noticeId) });
  }
  if (actions.length) blocks.push({ type: 'actions', block_id: 'notice_actions', elements: actions });
  const text = data.kind === 'expired' ? `${count(data.total, 'invitation')} expired` : `${count(data.total, 'invitation')} ${data.still >= data.total ? 'will expire soon' : data.total === 1 ? 'was about to expire' : 'were about to expire'}`;
  return { text, blocks };
}

export interface AcceptedNoticeData {
  email: string;
  role: Role;
  memberId: string;
  memberName: string | null;
  /** What the last change did (e.g. the role select). */
  notice?: string;
}

/** The block of the acceptance note's role select: a change there redraws the note, not the members list. */
export const ACCEPTED_ROLE_BLOCK = 'accepted_role';

/** Tells the inviter someone joined, with the new member's role one click away. */
export function acceptedNotice(data: AcceptedNoticeData): { text: string; blocks: Block[] } {
  const who = data.memberName ? `${neutralize(clip(data.memberName, 200))} (${escape(clip(data.email, 300))})` : `*${escape(clip(data.email, 300))}*`;
  // "their": the note also goes to the admins when the inviter cannot hear it.
  const text = `${data.email} accepted their invitation and joined as ${roleLabel(data.role)}`;
  const options = ROLES.map((role) => ({ text: plain(roleLabel(role), LIMITS.optionText), value: encodeMemberRole({ memberId: data.memberId, role, offset: 0 }) }));
  return {
    text,
    blocks: [
      { type: 'section', text: mrkdwn(`:tada: ${who} accepted their invitation and joined as *${roleLabel(data.role)}*.`) },
      ...(data.notice ? [notice(data.notice)] : []),
      {
        type: 'actions',
        block_id: ACCEPTED_ROLE_BLOCK,
        elements: [{ type: 'static_select', action_id: ACTIONS.memberRole, placeholder: plain('Change role', LIMITS.optionText), options, initial_option: options[ROLES.indexOf(data.role)] }],
      },
    ],
  };
}

export interface RefusedNoticeData {
  noticeId: number;
  invitation: Invitation;
  /** The mail server's words. */
  reason: string;
  /** The address a likely typo was meant to be. */
  suggestion?: string;
  notice?: string;
}

/** Tells the inviter once that the mail server refused an invitation's email for good, with a likely fix. */
export function refusedNotice(data: RefusedNoticeData): { text: string; blocks: Block[] } {
  const email = escape(clip(data.invitation.email, 300));
  const hint = data.suggestion ? ` Did you mean *${escape(data.suggestion)}*? If so, revoke this one and invite that address.` : '';
  const blocks: Block[] = [
    { type: 'section', text: mrkdwn(`:no_entry: Mail to *${email}* was refused: ${escape(clip(data.reason, 500))}.${hint}`) },
    ...(data.notice ? [notice(data.notice)] : []),
  ];
  const buttons = invitationButtons(data.invitation, 'notice', DEFAULT_TABLE, 0, data.noticeId);
  if (buttons) blocks.push(buttons);
  // The reason is the mail server's words, anyone's: escaped here too, or `<!here>` or a labelled link in it would work.
  const text = `Mail to ${data.invitation.email} was refused: ${escape(data.reason)}${data.suggestion ? ` — did you mean ${escape(data.suggestion)}?` : ''}`;
  return { text: clip(text, LIMITS.text), blocks };
}

export interface RenewalRequestNoticeData {
  noticeId: number;
  invitation: Invitation;
  request: RenewalRequest;
  /** What the last click did. */
  notice?: string;
}

/**
 * "jane@x.io asks for a new invitation": sent to the inviter when the holder of an expired link
 * asks on its page. Send new invitation while the invitation is still expired; Dismiss until
 * someone has dealt with it.
 */
export function renewalRequestNotice(data: RenewalRequestNoticeData): { text: string; blocks: Block[] } {
  const { invitation, request } = data;
  const blocks: Block[] = [
    { type: 'section', text: mrkdwn(`:raised_hand: *${escape(clip(invitation.email, 300))}* asks for a new invitation (expired ${slackDate(invitation.expiresAt)}).`) },
    { type: 'context', elements: [mrkdwn(`${roleLabel(invitation.role)} · invited ${slackDate(invitation.createdAt)}${invitedBy(invitation)} · asked ${slackDate(request.requestedAt)}`)] },
  ];
  if (data.notice) blocks.push(notice(data.notice));
  if (request.dismissedAt !== null) {
    const who = request.dismissedBy && SLACK_USER_ID.test(request.dismissedBy) ? ` by <@${request.dismissedBy}>` : '';
    blocks.push({ type: 'context', elements: [mrkdwn(`Dismissed${who} ${slackDate(request.dismissedAt)}: no new invitation was sent.`)] });
  } else if (invitation.status === 'expired') {
    blocks.push({
      type: 'actions',
      block_id: 'renewal_request',
      elements: [
        { type: 'button', action_id: `${ACTIONS.renew}_0`, text: plain('Send new invitation', LIMITS.buttonText), style: 'primary', value: encodeRow({ surface: 'notice', invitationId: invitation.id, table: DEFAULT_TABLE, noticeId: data.noticeId }) },
        { type: 'button', action_id: ACTIONS.noticeDismiss, text: plain('Dismiss', LIMITS.buttonText), value: String(data.noticeId) },
      ],
    });
  } else {
    blocks.push({ type: 'context', elements: [mrkdwn(`Now ${STATUS_LABELS[invitation.status]}.`)] });
  }
  const text = `${invitation.email} asks for a new invitation (expired ${new Date(invitation.expiresAt).toISOString().slice(0, 10)})`;
  return { text: clip(text, LIMITS.text), blocks };
}
