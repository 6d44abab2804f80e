import type { SlackDeps } from '../../deps.js';
import { renderMembers } from '../../render.js';
import { decodeOffset } from '../../values.js';
import { onClick, replaceMessage } from './surfaces.js';

/** Prev/Next on `/members`. */
export function membersPageAction(deps: SlackDeps) {
  return onClick(deps, decodeOffset, async (args, offset) => {
    await replaceMessage(args, await renderMembers(deps, offset));
  });
}
