import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { permitted } from '../../guard.js';
import { renderTable } from '../../render.js';
import { DEFAULT_TABLE, TABLE_STATUSES, type TableState } from '../../values.js';

/** `/invites [pending|expired|accepted|revoked|all]`: the Invitations table, only for the one who asked. */
export function invitesCommand(deps: SlackDeps) {
  return async ({ ack, command, client, respond }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await ack();
    const reply = (text: string) => respond({ response_type: 'ephemeral', text });
    const user = await permitted(deps, client, command.user_id, reply);
    if (!user) return;
    const arg = command.text.trim().toLowerCase() || DEFAULT_TABLE.status;
    const status = TABLE_STATUSES.find((s) => s === arg);
    if (!status) {
      await reply(`I don't know the status "${arg.slice(0, 40)}". Usage: \`/invites [${TABLE_STATUSES.join('|')}]\``);
      return;
    }
    const state: TableState = { ...DEFAULT_TABLE, status };
    await respond({ response_type: 'ephemeral', ...(await renderTable(deps, state)) });
  };
}
