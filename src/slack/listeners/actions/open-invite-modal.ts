import { inviteModal } from '../../blocks/invite-modal.js';
import type { SlackDeps } from '../../deps.js';
import { clicker, type ClickArgs } from './surfaces.js';

/** "Invite people" on App Home opens the same modal as `/invite`. */
export function openInviteModalAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    if (!(await clicker(deps, args))) return;
    await args.client.views.open({ trigger_id: args.body.trigger_id, view: inviteModal() });
  };
}
