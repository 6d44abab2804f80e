import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { decodeApproval, DENY_BLOCKS, DENY_INPUTS } from '../../action-values.js';
import type { SlackDeps } from '../../deps.js';
import { slackWords, SOMETHING_WENT_WRONG, staleButton } from '../../errors.js';
import { NOT_APPROVER, NOT_PERMITTED, payloadTeam } from '../../identity.js';
import { LATE, receivedAt, withinAckDeadline } from '../deadline.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * The deny modal submitted: the approver (never the requester) denies with their reason, and the
 * modal closes; every copy of the request and the requester's DM follow through the outbox. A
 * refusal is shown in the modal, under the reason.
 */
export function denySubmission(deps: SlackDeps) {
  return async ({ ack, body, view, client, context }: SubmitArgs) => {
    const started = receivedAt(context);
    // Answers the words of a refusal, or nothing when denied.
    const work = (async (): Promise<string | undefined> => {
      const target = decodeApproval(view.private_metadata);
      if (!target) return staleButton(deps.command);
      const reason = view.state?.values?.[DENY_BLOCKS.reason]?.[DENY_INPUTS.reason]?.value ?? '';
      try {
        const user = await deps.identities.identify(body.user.id, payloadTeam(body), { mayAskSlack: false, changes: true });
        if (!user.allowed) return user.refusal === NOT_PERMITTED ? NOT_APPROVER : user.refusal!;
        if (!user.mayApprove) return user.refusal ?? NOT_APPROVER;
        if (target.kind === 'invitation') await deps.invites.deny(target.id, user.actor, reason, target.heldUpTo);
        else await deps.invites.denyRequest(target.id, user.actor, reason, target.heldUpTo);
        return undefined;
      } catch (error) {
        const words = slackWords(error);
        if (!words) deps.logger.error({ err: error }, 'denying an invitation failed');
        return words ?? SOMETHING_WENT_WRONG;
      }
    })();
    const refusal = await withinAckDeadline(work, started);
    if (refusal === LATE) {
      // A database slower than Slack's window: the modal closes, the deny goes on, and a refusal
      // comes as a DM (a denial shows on every copy of the request as usual).
      await ack();
      const words = await work;
      if (words) await client.chat.postMessage({ channel: body.user.id, text: `The invitation was not denied: ${words}` });
      return;
    }
    if (refusal) return ack({ response_action: 'errors', errors: { [DENY_BLOCKS.reason]: refusal.slice(0, 300) } });
    await ack();
  };
}
