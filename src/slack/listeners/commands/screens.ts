import { clipSearch, DEFAULT_TABLE, type TableState } from '../../action-values.js';
import type { SlackDeps } from '../../deps.js';
import { invitationsScreen, membersScreen } from '../../screens.js';
import { answerSoon, ephemeral } from './answer.js';
import type { CommandArgs } from './doorman.js';

/** `invites [status] [search]`: the invitations table, only for the one who asked. */
export function invitationsCommand(deps: SlackDeps, { ack, respond, command, context }: CommandArgs, query: { status?: TableState['status']; search?: string }): Promise<void> {
  return answerSoon(deps.logger, context, ack, respond, async () => {
    const user = await deps.identities.identify(command.user_id, command.team_id);
    if (!user.allowed) return ephemeral(user.refusal!);
    const search = query.search === undefined ? undefined : clipSearch(query.search);
    const state: TableState = { ...DEFAULT_TABLE, status: query.status ?? (search ? 'all' : DEFAULT_TABLE.status), ...(search ? { search } : {}) };
    return { response_type: 'ephemeral', ...(await invitationsScreen(deps, state)) };
  });
}

/** `members`: members with role and state; admins change roles and deactivate from here. */
export function membersCommand(deps: SlackDeps, { ack, respond, command, context }: CommandArgs): Promise<void> {
  return answerSoon(deps.logger, context, ack, respond, async () => {
    const user = await deps.identities.identify(command.user_id, command.team_id);
    if (!user.allowed) return ephemeral(user.refusal!);
    return { response_type: 'ephemeral', ...(await membersScreen(deps, 0)) };
  });
}
