import type { SlackDeps } from '../../deps.js';
import { SOMETHING_WENT_WRONG, staleButton } from '../../errors.js';
import { loadNotice, renderNotice } from '../../notices/render.js';
import { decodeNoticeId } from '../../action-values.js';
import { onClick, replaceMessage, showOrTell, tellClicker } from './click.js';

/** "Send new invitations to all" on an expiry DM: every invitation of the notice that is still expired. */
export function noticeRenewAllAction(deps: SlackDeps) {
  return onClick(deps, decodeNoticeId, async (args, noticeId, user) => {
    const payload = await loadNotice(deps.db, noticeId);
    if (!payload || payload.notice !== 'expired') return tellClicker(args, staleButton(deps.command));
    let note: string;
    try {
      const { sent } = await deps.invites.renewAll(payload.invitationIds, user.actor);
      const emailed = sent.filter((i) => i.status !== 'awaiting_approval').length;
      const held = sent.length - emailed;
      note = sent.length
        ? [
            emailed ? `:incoming_envelope: Sent ${emailed === 1 ? 'a new invitation' : `${emailed.toLocaleString('en')} new invitations`} with new links; the old links stay dead.` : '',
            held ? `:raised_hand: ${held === 1 ? 'One waits' : `${held.toLocaleString('en')} wait`} for approval; nothing is sent until someone else approves.` : '',
          ].filter(Boolean).join(' ')
        : 'None of these invitations is still expired: nothing was sent.';
    } catch (error) {
      deps.logger.error({ err: error }, 'sending new invitations from a notice failed');
      note = SOMETHING_WENT_WRONG;
    }
    await showOrTell(deps, args, note, async () => {
      const message = await renderNotice(deps, noticeId, payload, note);
      if (message) await replaceMessage(args, message);
    });
  }, { changes: true });
}
