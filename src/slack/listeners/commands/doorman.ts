import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { helpMessage } from '../../blocks/help.js';
import type { SlackDeps } from '../../deps.js';
import { openInviteModal } from '../open-modal.js';
import { inviteList } from './invite-list.js';
import { invitationsCommand, membersCommand } from './screens.js';
import { parseCommand } from './parse.js';

export type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/** `/doorman [invite [list] | invites [status] [search] | members | help]`, or a bare list. */
export function doormanCommand(deps: SlackDeps) {
  return async (args: CommandArgs) => {
    const parsed = parseCommand(args.command.text);
    switch (parsed.sub) {
      case 'help':
        return args.ack({ response_type: 'ephemeral', ...helpMessage(deps.command) });
      case 'unknown':
        return args.ack({ response_type: 'ephemeral', ...helpMessage(deps.command, { typed: parsed.typed, closest: parsed.closest }) });
      case 'invite':
        if (!parsed.list) {
          await args.ack();
          return openInviteModal(deps, { triggerId: args.command.trigger_id, userId: args.command.user_id, teamId: args.command.team_id }, (text) => args.respond({ response_type: 'ephemeral', text }));
        }
        return inviteList(deps, args, parsed.list);
      case 'invites':
        return invitationsCommand(deps, args, { status: parsed.status, search: parsed.search });
      case 'members':
        return membersCommand(deps, args);
    }
  };
}
