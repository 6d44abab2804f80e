import type { types } from '@slack/bolt';
import { lastEmailLost, type Invitation, type ShownStatus } from '../../invites/model.js';
import { ROLE_LABELS, type Role } from '../../members/roles.js';
import { ACTIONS, encodeRow, type Surface, type TableState } from '../action-values.js';
import { clip, LIMITS } from './limits.js';
import { escape, neutralize } from '../text.js';
import { approvalWords } from '../../invites/policy.js';

export const STATUS_LABELS: Record<ShownStatus, string> = {
  pending: ':hourglass_flowing_sand: Pending',
  expired: ':warning: Expired',
  accepted: ':white_check_mark: Accepted',
  revoked: ':no_entry_sign: Revoked',
  awaiting_approval: ':raised_hand: Awaiting approval',
};

export function plain(text: string, max: number = LIMITS.text): types.PlainTextElement {
  return { type: 'plain_text', text: clip(text, max), emoji: true };
}

export function mrkdwn(text: string, max: number = LIMITS.text): types.MrkdwnElement {
  return { type: 'mrkdwn', text: clip(text, max) };
}

/**
 * A time every viewer reads in their own time zone (Slack date token), with a UTC fallback for
 * clients that cannot render it.
 */
export function slackDate(ms: number): string {
  const fallback = new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

/** Who invited, as people read it: a Slack mention, else the name they gave (as plain words); undefined when neither is known. */
export function inviterWords(invitation: Pick<Invitation, 'invitedBy'>): string | undefined {
  if (invitation.invitedBy.slackUserId) return `<@${invitation.invitedBy.slackUserId}>`;
  if (invitation.invitedBy.name) return neutralize(clip(invitation.invitedBy.name, 100));
  return undefined;
}

export function roleLabel(role: Role): string {
  return ROLE_LABELS[role];
}

export function count(n: number, one: string, many = one + 's'): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** Lists items in at most `max` characters, ending with "and N more" when some did not fit. */
export function listWithin(items: readonly string[], max: number, separator = '\n'): string {
  let out = '';
  for (let i = 0; i < items.length; i++) {
    const more = items.length - i;
    const tail = `${separator}…and ${more.toLocaleString('en')} more`;
    const next = (out ? out + separator : '') + items[i];
    // Keep room for the "and N more" line unless this is the last item.
    if (next.length + (i < items.length - 1 ? tail.length : 0) > max) return out ? out + tail : clip(items[i]!, max - tail.length) + tail;
    out = next;
  }
  return out;
}

/**
 * What went wrong with an invitation's email, in words, if anything: failing (still retried),
 * refused, or — for an expired one — its last email not sent before the link expired (an outage
 * longer than the link: the email is dropped then, and Send new invitation is the fix).
 */
export function deliveryProblem(invitation: Invitation): string | undefined {
  if (invitation.status !== 'pending' && invitation.status !== 'expired') return undefined;
  const { state, error } = invitation.delivery;
  const why = `: ${escape(clip(error ?? 'unknown error', 200))}`;
  if (state === 'refused') return `:no_entry: Email refused${why}`;
  if (lastEmailLost(invitation)) return `:x: Its last email did not go out before the link expired${error ? why : ''}`;
  if (state === 'failing') return `:x: Email failing${why}`;
  return undefined;
}

/** An open invitation's email as it goes, when nothing is wrong with it: " · email queued" or " · email sent". */
function emailWords(invitation: Invitation): string {
  if (invitation.status !== 'pending' && invitation.status !== 'expired') return '';
  return invitation.delivery.state === 'sent' ? ' · email sent' : invitation.delivery.state === 'queued' ? ' · email queued' : '';
}

/**
 * An entry of a "not invited" list: a person picked in Slack as the mention Slack shows by their
 * name, anything typed as it was typed, in code.
 */
export function entryWords(entry: string, max: number): string {
  return /^<@[UW][A-Z0-9]{2,}>$/.test(entry) ? entry : `\`${escape(clip(entry.replace(/`/g, "'"), max))}\``;
}

/** One invitation as a section: email, status (with its email's delivery state), invited and expiry (or settle) time. */
export function invitationSection(invitation: Invitation): types.SectionBlock {
  const timing =
    invitation.status === 'accepted' && invitation.acceptedAt
      ? `Accepted ${slackDate(invitation.acceptedAt)}`
      : invitation.status === 'revoked' && invitation.revokedAt
        ? `Revoked ${slackDate(invitation.revokedAt)}`
        : `${invitation.status === 'expired' ? 'Expired' : invitation.status === 'awaiting_approval' ? 'Request lapses' : 'Expires'} ${slackDate(invitation.expiresAt)}`;
  const why = invitation.status === 'awaiting_approval' && invitation.approval ? `\n${escape(approvalWords(invitation))}` : '';
  const problem = deliveryProblem(invitation);
  const delivery = problem ? `\n${problem}` : emailWords(invitation);
  return {
    type: 'section',
    fields: [
      mrkdwn(`*${escape(clip(invitation.email, 300))}*\n${roleLabel(invitation.role)}`, LIMITS.sectionFieldText),
      mrkdwn(`${STATUS_LABELS[invitation.status]}${delivery}${why}`, LIMITS.sectionFieldText),
      mrkdwn(`Invited ${slackDate(invitation.createdAt)}`, LIMITS.sectionFieldText),
      mrkdwn(timing, LIMITS.sectionFieldText),
    ],
  };
}

/** What revoking does to an invitation in its state, as the confirmation says it. */
function revokeWords(invitation: Invitation, email: string): string {
  if (invitation.status === 'awaiting_approval') return `The request to invite ${email} is withdrawn; nothing was sent, and nothing will be.`;
  if (invitation.status === 'expired') return `The expired invitation to ${email} is closed for good: it is no longer offered a new invitation.`;
  return `The link sent to ${email} stops working at once.`;
}

/**
 * The buttons for what can still be done with an invitation (the rules "Resend", "Send new invitation", "Copy link", "Revoke"): pending → Resend, Copy
 * link, Revoke; expired → Send new invitation, Revoke; none for accepted or revoked.
 */
export function invitationButtons(invitation: Invitation, surface: Surface, table: TableState, position: number, noticeId?: number): types.ActionsBlock | undefined {
  const value = encodeRow({ surface, invitationId: invitation.id, table, noticeId, sentAt: invitation.lastSentAt });
  const revoke: types.Button = {
    type: 'button',
    action_id: `${ACTIONS.revoke}_${position}`,
    text: plain('Revoke', LIMITS.buttonText),
    style: 'danger',
    value,
    confirm: {
      title: plain('Revoke this invitation?', LIMITS.confirmTitle),
      text: plain(revokeWords(invitation, clip(invitation.email, 200)), LIMITS.confirmText),
      confirm: plain('Revoke', LIMITS.confirmButton),
      deny: plain('Keep it', LIMITS.confirmButton),
      style: 'danger',
    },
  };
  const button = (action: string, label: string, primary = false): types.Button => ({
    type: 'button',
    action_id: `${action}_${position}`,
    text: plain(label, LIMITS.buttonText),
    value,
    ...(primary ? { style: 'primary' as const } : {}),
  });
  if (invitation.status === 'pending') {
    return { type: 'actions', block_id: `row_${position}`, elements: [button(ACTIONS.resend, 'Resend'), button(ACTIONS.copyLink, 'Copy link'), revoke] };
  }
  if (invitation.status === 'expired') {
    return { type: 'actions', block_id: `row_${position}`, elements: [button(ACTIONS.renew, 'Send new invitation', true), revoke] };
  }
  // Approving happens on the request's own message; here it can only be withdrawn.
  if (invitation.status === 'awaiting_approval') return { type: 'actions', block_id: `row_${position}`, elements: [revoke] };
  return undefined;
}

export function notice(text: string): types.SectionBlock {
  return { type: 'section', text: mrkdwn(text) };
}
