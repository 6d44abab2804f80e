import type { AllMiddlewareArgs, SlackViewMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { INVITE_MODAL } from '../../values.js';
import { inviteSubmission } from './invite-submission.js';

export type SubmissionArgs = SlackViewMiddlewareArgs & AllMiddlewareArgs;

/** The submitted modals (view_submission), by callback_id. */
export function viewRoutes(deps: SlackDeps): Map<string, (args: SubmissionArgs) => Promise<void>> {
  return new Map([[INVITE_MODAL, inviteSubmission(deps) as (args: SubmissionArgs) => Promise<void>]]);
}
