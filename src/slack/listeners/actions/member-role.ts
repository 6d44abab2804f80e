import { displayName } from '../../../members/service.js';
import { escape } from '../../blocks/limits.js';
import { roleLabel } from '../../blocks/format.js';
import type { SlackDeps } from '../../deps.js';
import { ACCEPTED_ROLE_BLOCK } from '../../blocks/notices.js';
import { renderAcceptedNote } from '../../notices.js';
import { renderMembers } from '../../render.js';
import { decodeMemberRole } from '../../values.js';
import { failureWords, onClick, replaceMessage } from './surfaces.js';

/** The role select on `/members`. The last active admin keeps their role (LastAdmin). */
export function memberRoleAction(deps: SlackDeps) {
  return onClick(deps, decodeMemberRole, async (args, value, user) => {
    let notice: string;
    try {
      const member = await deps.members.setRole(value.memberId, value.role, user.actor);
      if (member.slackUserId) deps.permissions.forget(member.slackUserId);
      notice = `:white_check_mark: *${escape(displayName(member))}* is now ${roleLabel(member.role)}.`;
    } catch (error) {
      notice = await failureWords(deps, error, () => deps.members.get(value.memberId), 'role change');
    }
    // From the acceptance note, the note itself is redrawn; from /members, the members list.
    const fromNote = (args.action as { block_id?: string }).block_id === ACCEPTED_ROLE_BLOCK;
    const note = fromNote ? await renderAcceptedNote(deps, value.memberId, notice) : undefined;
    await replaceMessage(args, note ?? (await renderMembers(deps, value.offset, notice)));
  });
}
