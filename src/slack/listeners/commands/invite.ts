import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { inviteModal } from '../../blocks/invite-modal.js';
import { inviteSummary } from '../../blocks/invite-summary.js';
import type { SlackDeps } from '../../deps.js';
import { slackWords, SOMETHING_WENT_WRONG } from '../../errors.js';
import { permitted } from '../../guard.js';

/** `/invite a@x.io, b@y.io` invites at once and answers with the summary; `/invite` alone opens the modal. */
export function inviteCommand(deps: SlackDeps) {
  return async ({ ack, command, client, respond }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await ack();
    const reply = (text: string) => respond({ response_type: 'ephemeral', text });
    const user = await permitted(deps, client, command.user_id, reply);
    if (!user) return;

    if (!command.text.trim()) {
      // The trigger is good for 3 seconds from the command: open the modal before anything else.
      await client.views.open({ trigger_id: command.trigger_id, view: inviteModal() });
      return;
    }
    try {
      const summary = await deps.invites.inviteMany({ emails: command.text, actor: user.actor, inviterName: user.name ?? null });
      await respond({ response_type: 'ephemeral', ...inviteSummary(summary) });
    } catch (error) {
      const words = slackWords(error);
      if (!words) deps.logger.error({ err: error }, '/invite failed');
      await reply(`${words ?? SOMETHING_WENT_WRONG}\nUsage: \`/invite jane@example.com, sam@example.com\`, or \`/invite\` alone for the form.`);
    }
  };
}
