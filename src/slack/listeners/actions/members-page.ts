import type { SlackDeps } from '../../deps.js';
import { membersScreen } from '../../screens.js';
import { decodeOffset } from '../../action-values.js';
import { onClick, replaceMessage } from './click.js';

/** Prev/Next on `/members`. */
export function membersPageAction(deps: SlackDeps) {
  return onClick(deps, decodeOffset, async (args, offset) => {
    await replaceMessage(args, await membersScreen(deps, offset));
  });
}
