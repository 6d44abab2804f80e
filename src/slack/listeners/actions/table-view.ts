import type { SlackDeps } from '../../deps.js';
import { renderTable } from '../../render.js';
import { decodeTable } from '../../values.js';
import { onClick, replaceMessage } from './surfaces.js';

/** Filter, sort and Prev/Next: each carries the table state to show, which replaces the message. */
export function tableViewAction(deps: SlackDeps) {
  return onClick(deps, decodeTable, async (args, state) => {
    await replaceMessage(args, await renderTable(deps, state));
  });
}
