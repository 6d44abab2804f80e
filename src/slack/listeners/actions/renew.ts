import type { SlackDeps } from '../../deps.js';
import { approvalWords } from '../../../invites/policy.js';
import { escape } from '../../text.js';
import { rowAction } from './click.js';

/** Send new invitation (expired): a new link; the old one stays dead. */
export function renewAction(deps: SlackDeps) {
  return rowAction(deps, async (id, user) => {
    const invitation = await deps.invites.renew(id, user.actor);
    if (invitation.status === 'awaiting_approval') return `:raised_hand: A new invitation to *${escape(invitation.email)}* waits for approval (${escape(approvalWords(invitation))}); nothing is sent until someone else approves it.`;
    return `:incoming_envelope: Sent a new invitation to *${escape(invitation.email)}* with a new link; the old link stays dead.`;
  });
}
