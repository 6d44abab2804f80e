import { displayName } from '../../../members/service.js';
import { escape } from '../../blocks/limits.js';
import type { SlackDeps } from '../../deps.js';
import { slackWords, SOMETHING_WENT_WRONG, STALE_BUTTON } from '../../errors.js';
import { renderMembers } from '../../render.js';
import { decodeMember } from '../../values.js';
import { clickedValue, clicker, replaceMessage, tellClicker, type ClickArgs } from './surfaces.js';

/** Deactivate on `/members` (after Slack's confirm dialog). The last active admin stays. */
export function memberDeactivateAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    const value = decodeMember(clickedValue(args));
    if (!value) return tellClicker(deps, args, STALE_BUTTON);
    const user = await clicker(deps, args);
    if (!user) return;
    let notice: string;
    try {
      const member = await deps.members.deactivate(value.memberId, user.actor);
      if (member.slackUserId) deps.permissions.forget(member.slackUserId);
      notice = `:zzz: *${escape(displayName(member))}* is deactivated.`;
    } catch (error) {
      const current = await deps.members.get(value.memberId).catch(() => undefined);
      const words = slackWords(error, current?.email);
      if (!words) deps.logger.error({ err: error }, 'deactivate failed');
      notice = words ?? SOMETHING_WENT_WRONG;
    }
    await replaceMessage(args, await renderMembers(deps, value.offset, notice));
  };
}
