import { decodeNoticeId } from '../../action-values.js';
import type { SlackDeps } from '../../deps.js';
import { SOMETHING_WENT_WRONG, staleButton } from '../../errors.js';
import { loadNotice, renderNotice } from '../../notices/render.js';
import { onClick, replaceMessage, showOrTell, tellClicker } from './click.js';

/** "Dismiss" on a request for a new invitation: nothing is sent; the DM says who dismissed it. */
export function noticeDismissAction(deps: SlackDeps) {
  return onClick(
    deps,
    decodeNoticeId,
    async (args, noticeId, user) => {
      const payload = await loadNotice(deps.db, noticeId);
      if (!payload || payload.notice !== 'renewal_request') return tellClicker(args, staleButton(deps.command));
      let note: string | undefined;
      try {
        const dismissed = await deps.invites.dismissRenewalRequest(payload.requestId, user.actor);
        if (!dismissed) note = 'This request was already dismissed.';
      } catch (error) {
        deps.logger.error({ err: error }, 'dismissing a renewal request failed');
        note = SOMETHING_WENT_WRONG;
      }
      await showOrTell(deps, args, note ?? 'Dismissed: nothing was sent.', async () => {
        const message = await renderNotice(deps, noticeId, payload, note);
        if (message) await replaceMessage(args, message);
      });
    },
    { changes: true },
  );
}
