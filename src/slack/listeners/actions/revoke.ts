import type { SlackDeps } from '../../deps.js';
import { escape } from '../../text.js';
import { rowAction } from './click.js';

/**
 * Revoke (pending or expired, after Slack's confirm dialog): the link stops working at once. From a
 * row drawn before someone sent the invitation again (a colleague's new invitation to an expired
 * one), nothing is revoked: the row is redrawn as it is now, and a second click revokes.
 */
export function revokeAction(deps: SlackDeps) {
  return rowAction(deps, async (id, user, row) => {
    const invitation = await deps.invites.revoke(id, user.actor, { unlessSentAfter: row.sentAt });
    return `:no_entry_sign: Revoked the invitation for *${escape(invitation.email)}*; its link no longer works.`;
  });
}
