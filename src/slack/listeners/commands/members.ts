import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { permitted } from '../../guard.js';
import { renderMembers } from '../../render.js';

/** `/members`: members with role and state; admins change roles and deactivate from here. */
export function membersCommand(deps: SlackDeps) {
  return async ({ ack, command, client, respond }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await ack();
    const user = await permitted(deps, client, command.user_id, (text) => respond({ response_type: 'ephemeral', text }));
    if (!user) return;
    await respond({ response_type: 'ephemeral', ...(await renderMembers(deps, 0)) });
  };
}
