import type { SlackDeps } from '../../deps.js';
import { staleButton } from '../../errors.js';
import { loadNotice } from '../../notices/render.js';
import { invitationsScreen } from '../../screens.js';
import { decodeNoticeId } from '../../action-values.js';
import { onClick, postToClicker, tellClicker } from './click.js';

/**
 * "Show expired invitations" on a notice with more than fit: the table, filtered; the latest expired
 * first (the notice's own, not those of months ago), or for a reminder the soonest to expire.
 */
export function noticeShowListAction(deps: SlackDeps) {
  return onClick(deps, decodeNoticeId, async (args, noticeId) => {
    const payload = await loadNotice(deps.db, noticeId);
    if (!payload || (payload.notice !== 'expired' && payload.notice !== 'reminder')) return tellClicker(args, staleButton(deps.command));
    const expired = payload.notice === 'expired';
    const table = await invitationsScreen(deps, { status: expired ? 'expired' : 'pending', sort: 'expires', order: expired ? 'desc' : 'asc', offset: 0 });
    await postToClicker(args, table);
  });
}
