import type { webApi } from '@slack/bolt';
import { inviteModal } from '../blocks/invite-modal.js';
import type { SlackDeps } from '../deps.js';

/**
 * Opens the invite modal: `views.open` first, since a trigger works once and only for 3 seconds.
 * Who may invite is decided when the modal is submitted; meanwhile the asker's identity is looked
 * up, so the submission can be answered from the database alone.
 */
export async function openInviteModal(deps: SlackDeps, client: webApi.WebClient, who: { triggerId: string; userId: string; teamId?: string }): Promise<void> {
  await client.views.open({ trigger_id: who.triggerId, view: inviteModal(deps.inviteTtlMs) });
  await deps.identities.identify(who.userId, who.teamId);
}
