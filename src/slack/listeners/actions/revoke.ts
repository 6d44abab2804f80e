import type { SlackDeps } from '../../deps.js';
import { escape } from '../../text.js';
import { rowAction } from './click.js';

/** Revoke (pending or expired, after Slack's confirm dialog): the link stops working at once. */
export function revokeAction(deps: SlackDeps) {
  return rowAction(deps, async (id, user) => {
    const invitation = await deps.invites.revoke(id, user.actor);
    return `:no_entry_sign: Revoked the invitation for *${escape(invitation.email)}*; its link no longer works.`;
  });
}
