import type { SlackDeps } from '../../deps.js';
import { STALE_BUTTON } from '../../errors.js';
import { renderMembers } from '../../render.js';
import { decodeOffset } from '../../values.js';
import { clickedValue, clicker, replaceMessage, tellClicker, type ClickArgs } from './surfaces.js';

/** Prev/Next on `/members`. */
export function membersPageAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    const offset = decodeOffset(clickedValue(args));
    if (offset === undefined) return tellClicker(deps, args, STALE_BUTTON);
    if (!(await clicker(deps, args))) return;
    await replaceMessage(args, await renderMembers(deps, offset));
  };
}
