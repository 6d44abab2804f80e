import type { SlackDeps } from '../../deps.js';
import { STALE_BUTTON } from '../../errors.js';
import { loadNotice } from '../../notices.js';
import { renderTable } from '../../render.js';
import { decodeNoticeId } from '../../values.js';
import { onClick, postToClicker, tellClicker } from './surfaces.js';

/** "Show expired invitations" on a notice with more than fit: the table, filtered, soonest first. */
export function noticeShowListAction(deps: SlackDeps) {
  return onClick(deps, decodeNoticeId, async (args, noticeId) => {
    const payload = await loadNotice(deps.db, noticeId);
    if (!payload || payload.notice === 'accepted') return tellClicker(deps, args, STALE_BUTTON);
    const table = await renderTable(deps, { status: payload.notice === 'expired' ? 'expired' : 'pending', sort: 'expires', order: 'asc', offset: 0 });
    await postToClicker(args, table);
  });
}
