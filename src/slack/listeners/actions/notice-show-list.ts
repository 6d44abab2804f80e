import type { SlackDeps } from '../../deps.js';
import { STALE_BUTTON } from '../../errors.js';
import { loadNotice } from '../../notices.js';
import { renderTable } from '../../render.js';
import { decodeNoticeId } from '../../values.js';
import { clickedValue, clicker, postToClicker, tellClicker, type ClickArgs } from './surfaces.js';

/** "Show expired invitations" on a notice with more than fit: the table, filtered, soonest first. */
export function noticeShowListAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    const noticeId = decodeNoticeId(clickedValue(args));
    const payload = noticeId ? await loadNotice(deps.db, noticeId) : undefined;
    if (!payload || payload.notice === 'accepted') return tellClicker(deps, args, STALE_BUTTON);
    const user = await clicker(deps, args);
    if (!user) return;
    const table = await renderTable(deps, { status: payload.notice === 'expired' ? 'expired' : 'pending', sort: 'expires', order: 'asc', offset: 0 });
    await postToClicker(args, table);
  };
}
