import { DomainError, NotFound, NotPermitted, type AlreadyDecided, type SentAgainSinceShown } from '../shared/errors.js';
import type { Logger } from '../logger.js';
import { NOT_APPROVER, NOT_PERMITTED } from './identity.js';
import { escape } from './text.js';

/** A button whose value does not parse: an old or tampered message. */
export function staleButton(command: string): string {
  return `This button is out of date. Run \`${command} invites\` again for the current list.`;
}

/** views.open failed or came too late for its trigger: the person clicks again, nothing else happened. */
export const FORM_DID_NOT_OPEN = ':warning: Slack did not open the form in time. Please try again.';
export const SOMETHING_WENT_WRONG = ':warning: Something went wrong on our side, and nothing was changed. Please try again in a moment.';

/**
 * What someone is told when what they asked for failed: a domain error in Slack's words; anything
 * else is logged (as `what`, with `fields`) and answered with SOMETHING_WENT_WRONG.
 */
export function failureText(error: unknown, logger: Logger, what: string, options: { email?: string; fields?: Record<string, unknown> } = {}): string {
  const words = slackWords(error, options.email);
  if (!words) logger.error({ err: error, ...options.fields }, what);
  return words ?? SOMETHING_WENT_WRONG;
}

/**
 * What someone is told when a list failed after part of it was stored: never "nothing was changed",
 * and where to see what went out before sending the rest.
 */
export function partlySentText(error: unknown, logger: Logger, what: string, command: string): string {
  const words = slackWords(error);
  if (!words) logger.error({ err: error }, what);
  const then = words ? `then this stopped it: ${words}` : 'then something went wrong on our side.';
  return `:warning: Part of this list was sent, ${then} See \`${command} invites\` for what went out before you send the rest again.`;
}

/**
 * Domain errors in Slack's words — the one place the Slack door turns an error code into text.
 * `email` names the invitation or member the click was about, when known.
 */
export function slackWords(error: unknown, email?: string): string | undefined {
  if (!(error instanceof DomainError)) return undefined;
  const who = email ? `*${escape(email)}*` : 'This person';
  const their = email ? `The invitation for *${escape(email)}*` : 'This invitation';
  switch (error.code) {
    case 'invite_accepted':
      return `${who} already accepted the invitation; nothing to do.`;
    case 'invite_revoked':
      return `${their} was already revoked; nothing to do.`;
    case 'sent_again': {
      const again = error as SentAgainSinceShown;
      return `:information_source: *${escape(again.email)}* was sent again since this was shown (it is ${again.status === 'pending' ? 'pending' : 'awaiting approval'} now), so nothing was revoked. Revoke it again if you still mean to.`;
    }
    case 'invite_expired':
      return `${their} has expired. Use *Send new invitation* to send a fresh link.`;
    case 'invite_not_expired':
      return `${their} has not expired yet. Use *Resend*: the link stays the same.`;
    case 'not_found':
      return error instanceof NotFound && error.what === 'member' ? 'That member no longer exists.' : 'That invitation no longer exists.';
    case 'already_member':
      return `${who} is already a member.`;
    case 'last_admin':
      return ':shield: That is the last active admin. Make someone else an admin first, so the organization keeps one.';
    case 'member_deactivated':
      return `${who} is deactivated; their role cannot change.`;
    case 'not_permitted':
      return (error as NotPermitted).permission === 'invite:approve' ? NOT_APPROVER : NOT_PERMITTED;
    case 'invalid_input':
      return `:warning: ${escape(error.message)}`;
    case 'awaiting_approval':
      return `${their} is waiting for approval; nothing can be sent until someone approves it.`;
    case 'not_awaiting_approval':
      return `${their} is not waiting for approval.`;
    case 'already_decided': {
      const decided = error as AlreadyDecided;
      const by = decided.decidedBy?.startsWith('slack:') ? `<@${decided.decidedBy.slice(6)}>` : decided.decidedByName ? escape(decided.decidedByName) : 'someone else';
      return `:information_source: Already ${decided.decision} by ${by}.`;
    }
    case 'own_request':
      return ':busts_in_silhouette: You asked for this invitation, so someone else has to approve or deny it.';
    case 'approval_lapsed':
      return `:hourglass: ${their === 'This invitation' ? 'This request' : their} lapsed: nobody decided in time. Invite the address again to ask anew.`;
    case 'daily_limit':
    case 'overloaded':
    case 'unknown_token':
    case 'weak_password':
    case 'invalid_credentials':
      return `:warning: ${escape(error.message)}`;
  }
}
