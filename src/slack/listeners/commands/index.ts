import type { AllMiddlewareArgs, App, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { inviteCommand } from './invite.js';
import { invitesCommand } from './invites.js';
import { membersCommand } from './members.js';

type CommandHandler = (args: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => Promise<void>;

/**
 * One Bolt listener for every command, which picks the handler by name. Bolt runs each listener's
 * own middleware chain for every request, so a listener per command costs each request as much as
 * the chains it does not match.
 */
export function register(app: App, deps: SlackDeps): void {
  const handlers = new Map<string, CommandHandler>([
    ['/invite', inviteCommand(deps)],
    ['/invites', invitesCommand(deps)],
    ['/members', membersCommand(deps)],
  ]);
  const names = new RegExp(`^(${[...handlers.keys()].join('|')})$`);
  app.command(names, async (args) => handlers.get(args.command.command)!(args));
}
