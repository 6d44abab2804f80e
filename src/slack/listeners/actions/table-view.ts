import type { SlackDeps } from '../../deps.js';
import { invitationsScreen } from '../../screens.js';
import { decodeTable } from '../../action-values.js';
import { onClick, replaceMessage } from './click.js';

/** Filter, sort and Prev/Next: each carries the table state to show, which replaces the message. */
export function tableViewAction(deps: SlackDeps) {
  return onClick(deps, decodeTable, async (args, state) => {
    await replaceMessage(args, await invitationsScreen(deps, state));
  });
}
