import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { inviteCommand } from './invite.js';
import { invitesCommand } from './invites.js';
import { membersCommand } from './members.js';

export type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/** The slash commands, by name. */
export function commandRoutes(deps: SlackDeps): Map<string, (args: CommandArgs) => Promise<void>> {
  return new Map([
    ['/invite', inviteCommand(deps)],
    ['/invites', invitesCommand(deps)],
    ['/members', membersCommand(deps)],
  ]);
}
