import type { SlackDeps } from '../../deps.js';
import { escape } from '../../text.js';
import { rowAction } from './click.js';

/** Resend (pending): the same link again, the expiry pushed out. */
export function resendAction(deps: SlackDeps) {
  return rowAction(deps, async (id, user) => {
    const invitation = await deps.invites.resend(id, user.actor);
    return `:incoming_envelope: Sent the invitation to *${escape(invitation.email)}* again — same link, now valid for longer.`;
  });
}
