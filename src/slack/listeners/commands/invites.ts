import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { answerAck, answerInAck, ephemeral, sharedEphemeral } from '../../answer.js';
import type { SlackDeps } from '../../deps.js';
import { permittedOr } from '../../guard.js';
import { renderTable } from '../../render.js';
import { DEFAULT_TABLE, TABLE_STATUSES, type TableState } from '../../values.js';

/** `/invites [pending|expired|accepted|revoked|all]`: the Invitations table, only for the one who asked, in the ack. */
export function invitesCommand(deps: SlackDeps) {
  return async ({ ack, command, client, respond, context }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await answerInAck(answerAck(ack, context), respond, async () => {
      const user = await permittedOr(deps, client, command.user_id);
      if (!user.allowed) return ephemeral(user.refusal);
      const arg = command.text.trim().toLowerCase() || DEFAULT_TABLE.status;
      const status = TABLE_STATUSES.find((s) => s === arg);
      if (!status) return ephemeral(`I don't know the status "${arg.slice(0, 40)}". Usage: \`/invites [${TABLE_STATUSES.join('|')}]\``);
      const state: TableState = { ...DEFAULT_TABLE, status };
      return sharedEphemeral(await renderTable(deps, state));
    });
  };
}
