import type { SlackDeps } from '../../deps.js';
import { STALE_BUTTON } from '../../errors.js';
import { renderTable } from '../../render.js';
import { decodeTable } from '../../values.js';
import { clickedValue, clicker, replaceMessage, tellClicker, type ClickArgs } from './surfaces.js';

/** Filter, sort and Prev/Next: each carries the table state to show, which replaces the message. */
export function tableViewAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    const state = decodeTable(clickedValue(args));
    if (!state) return tellClicker(deps, args, STALE_BUTTON);
    if (!(await clicker(deps, args))) return;
    await replaceMessage(args, await renderTable(deps, state));
  };
}
