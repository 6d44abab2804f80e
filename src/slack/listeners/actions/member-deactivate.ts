import { displayName } from '../../../members/service.js';
import { escape } from '../../blocks/limits.js';
import type { SlackDeps } from '../../deps.js';
import { renderMembers } from '../../render.js';
import { decodeMember } from '../../values.js';
import { failureWords, onClick, replaceMessage } from './surfaces.js';

/** Deactivate on `/members` (after Slack's confirm dialog). The last active admin stays. */
export function memberDeactivateAction(deps: SlackDeps) {
  return onClick(deps, decodeMember, async (args, value, user) => {
    let notice: string;
    try {
      const member = await deps.members.deactivate(value.memberId, user.actor);
      if (member.slackUserId) deps.permissions.forget(member.slackUserId);
      notice = `:zzz: *${escape(displayName(member))}* is deactivated.`;
    } catch (error) {
      notice = await failureWords(deps, error, () => deps.members.get(value.memberId), 'deactivate');
    }
    await replaceMessage(args, await renderMembers(deps, value.offset, notice));
  });
}
