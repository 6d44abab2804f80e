import { displayName } from '../../../members/service.js';
import { neutralize } from '../../text.js';
import { roleLabel } from '../../blocks/format.js';
import type { SlackDeps } from '../../deps.js';
import { ACCEPTED_ROLE_BLOCK } from '../../blocks/notice-dms.js';
import { renderAcceptedNote } from '../../notices/render.js';
import { membersScreen } from '../../screens.js';
import { decodeMemberRole } from '../../action-values.js';
import { failureWords, onClick, replaceMessage, showOrTell } from './click.js';

/** The role select on the members list and the acceptance note. The last active admin keeps their role. */
export function memberRoleAction(deps: SlackDeps) {
  return onClick(deps, decodeMemberRole, async (args, value, user) => {
    let notice: string;
    try {
      const member = await deps.members.setRole(value.memberId, value.role, user.actor);
      if (member.slackUserId) deps.identities.forget(member.slackUserId);
      notice = `:white_check_mark: *${neutralize(displayName(member))}* is now ${roleLabel(member.role)}.`;
    } catch (error) {
      notice = await failureWords(deps, error, () => deps.members.get(value.memberId), 'role change');
    }
    // From the acceptance note, the note itself is redrawn; from the members list, the list.
    const fromNote = args.action.block_id === ACCEPTED_ROLE_BLOCK;
    await showOrTell(deps, args, notice, async () => {
      const note = fromNote ? await renderAcceptedNote(deps, value.memberId, notice) : undefined;
      await replaceMessage(args, note ?? (await membersScreen(deps, value.offset, notice)));
    });
  }, { changes: true, idempotent: true });
}
