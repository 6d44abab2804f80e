import { displayName } from '../../../members/service.js';
import { neutralize } from '../../text.js';
import type { SlackDeps } from '../../deps.js';
import { membersScreen } from '../../screens.js';
import { decodeMember } from '../../action-values.js';
import { failureWords, onClick, replaceMessage, showOrTell } from './click.js';

/** Deactivate on the members list (after Slack's confirm dialog). The last active admin stays. */
export function memberDeactivateAction(deps: SlackDeps) {
  return onClick(deps, decodeMember, async (args, value, user) => {
    let notice: string;
    try {
      // Deactivation releases the Slack link: the user whose kept answer to drop is read first.
      const linked = (await deps.members.find(value.memberId))?.slackUserId;
      const member = await deps.members.deactivate(value.memberId, user.actor, { unlessDeactivatedSince: value.drawnAt });
      if (linked) deps.identities.forget(linked);
      notice = `:zzz: *${neutralize(displayName(member))}* is deactivated.`;
    } catch (error) {
      notice = await failureWords(deps, error, () => deps.members.get(value.memberId), 'deactivate');
    }
    await showOrTell(deps, args, notice, async () => replaceMessage(args, await membersScreen(deps, value.offset, notice)));
  }, { changes: true });
}
