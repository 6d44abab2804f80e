import type { SlackDeps } from '../../deps.js';
import { payloadTeam } from '../../identity.js';
import { openInviteModal } from '../open-modal.js';
import { postToClicker, type ClickArgs } from './click.js';

/** "Invite people" on App Home or the help: the invite modal, opened before anything else. */
export function openInviteModalAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    await openInviteModal(deps, { triggerId: args.body.trigger_id, userId: args.body.user.id, teamId: payloadTeam(args.body) }, (text) => postToClicker(args, { text }));
  };
}
