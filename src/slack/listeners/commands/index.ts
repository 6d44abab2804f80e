import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { doormanCommand } from './doorman.js';

/** The one slash command (SLACK_COMMAND, `/doorman` by default) with its subcommands. */
export function register(app: App, deps: SlackDeps): void {
  app.command(deps.command, doormanCommand(deps));
}
