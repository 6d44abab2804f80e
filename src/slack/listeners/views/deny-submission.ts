import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { decodeApproval, DENY_BLOCKS, DENY_INPUTS } from '../../action-values.js';
import type { SlackDeps } from '../../deps.js';
import { slackWords, SOMETHING_WENT_WRONG, staleButton } from '../../errors.js';
import { NOT_APPROVER } from '../actions/approval-approve.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * The deny modal submitted: the approver (never the requester) denies with their reason, and the
 * modal closes; every copy of the request and the requester's DM follow through the outbox. A
 * refusal is shown in the modal, under the reason.
 */
export function denySubmission(deps: SlackDeps) {
  return async ({ ack, body, view }: SubmitArgs) => {
    const refuse = (words: string) => ack({ response_action: 'errors', errors: { [DENY_BLOCKS.reason]: words.slice(0, 300) } });
    const invitationId = decodeApproval(view.private_metadata);
    if (!invitationId) return refuse(staleButton(deps.command));
    const reason = view.state?.values?.[DENY_BLOCKS.reason]?.[DENY_INPUTS.reason]?.value ?? '';
    const user = await deps.identities.identify(body.user.id, body.user.team_id ?? body.team?.id, { mayAskSlack: false });
    if (!user.allowed) return refuse(user.refusal!);
    if (!user.mayApprove) return refuse(user.refusal ?? NOT_APPROVER);
    try {
      await deps.invites.deny(invitationId, user.actor, reason);
    } catch (error) {
      const words = slackWords(error);
      if (!words) deps.logger.error({ err: error }, 'denying an invitation failed');
      return refuse(words ?? SOMETHING_WENT_WRONG);
    }
    await ack();
  };
}
