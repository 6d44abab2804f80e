import type { SlackDeps } from '../../deps.js';
import { escape } from '../../text.js';
import { rowAction } from './click.js';

/** Send new invitation (expired): a new link; the old one stays dead. */
export function sendNewInvitationAction(deps: SlackDeps) {
  return rowAction(deps, async (id, user) => {
    const invitation = await deps.invites.sendNewInvitation(id, user.actor);
    return `:incoming_envelope: Sent a new invitation to *${escape(invitation.email)}* with a new link; the old link stays dead.`;
  });
}
