import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { inviteCommand } from './invite.js';
import { invitesCommand } from './invites.js';
import { membersCommand } from './members.js';

export function register(app: App, deps: SlackDeps): void {
  app.command('/invite', inviteCommand(deps));
  app.command('/invites', invitesCommand(deps));
  app.command('/members', membersCommand(deps));
}
