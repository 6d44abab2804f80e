import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { refusedView } from '../../blocks/invite-modal.js';
import { SOMETHING_WENT_WRONG } from '../../errors.js';
import { DENY_MODAL, INVITE_MODAL, INVITE_REVIEW } from '../../action-values.js';
import { denySubmission } from './deny-submission.js';
import type { SlackDeps } from '../../deps.js';
import { inviteFormSubmission } from './invite-submission.js';
import { reviewSubmission } from './review-submission.js';

/** The submitted modals: the invite form (which shows the review) and the review (which sends). */
export function register(app: App, deps: SlackDeps): void {
  app.view({ type: 'view_submission', callback_id: INVITE_MODAL }, answerFailures(inviteFormSubmission(deps)));
  app.view({ type: 'view_submission', callback_id: INVITE_REVIEW }, answerFailures(reviewSubmission(deps)));
  app.view({ type: 'view_submission', callback_id: DENY_MODAL }, answerFailures(denySubmission(deps)));
}

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * A submission whose listener fails before answering (the database down, say) is answered at once
 * in the modal, instead of by Bolt's timer after 3 s, which Slack shows as a connection error. The
 * error still reaches app.error.
 */
function answerFailures(listener: (args: SubmitArgs) => Promise<void>): (args: SubmitArgs) => Promise<void> {
  return async (args) => {
    let answered = false;
    const ack: SubmitArgs['ack'] = (response) => {
      answered = true;
      return args.ack(response);
    };
    try {
      await listener({ ...args, ack });
    } catch (error) {
      if (!answered) await args.ack({ response_action: 'update', view: refusedView(SOMETHING_WENT_WRONG) });
      throw error;
    }
  };
}
