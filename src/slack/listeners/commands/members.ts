import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { answerAck, answerInAck, ephemeral } from '../../answer.js';
import type { SlackDeps } from '../../deps.js';
import { permittedOr } from '../../guard.js';
import { renderMembers } from '../../render.js';

/** `/members`: members with role and state, in the ack; admins change roles and deactivate from here. */
export function membersCommand(deps: SlackDeps) {
  return async ({ ack, command, client, respond, context }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await answerInAck(answerAck(ack, context), respond, async () => {
      const user = await permittedOr(deps, client, command.user_id);
      if (!user.allowed) return ephemeral(user.refusal);
      return { response_type: 'ephemeral', ...(await renderMembers(deps, 0)) };
    });
  };
}
