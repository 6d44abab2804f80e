import { DEFAULT_TABLE } from '../../action-values.js';
import type { SlackDeps } from '../../deps.js';
import { invitationsScreen, membersScreen } from '../../screens.js';
import { onClick, postToClicker } from './click.js';

const anyValue = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** "Invitations" on the help: the table, as `invites` shows it. */
export function showInvitationsAction(deps: SlackDeps) {
  return onClick(deps, anyValue, async (args) => postToClicker(args, await invitationsScreen(deps, DEFAULT_TABLE)));
}

/** "Members" on the help: the members list, as `members` shows it. */
export function showMembersAction(deps: SlackDeps) {
  return onClick(deps, anyValue, async (args) => postToClicker(args, await membersScreen(deps, 0)));
}
