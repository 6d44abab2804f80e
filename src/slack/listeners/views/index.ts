import type { App } from '@slack/bolt';
import { DENY_MODAL, INVITE_MODAL, INVITE_REVIEW } from '../../action-values.js';
import { denySubmission } from './deny-submission.js';
import type { SlackDeps } from '../../deps.js';
import { inviteFormSubmission } from './invite-submission.js';
import { reviewSubmission } from './review-submission.js';

/** The submitted modals: the invite form (which shows the review) and the review (which sends). */
export function register(app: App, deps: SlackDeps): void {
  app.view({ type: 'view_submission', callback_id: INVITE_MODAL }, inviteFormSubmission(deps));
  app.view({ type: 'view_submission', callback_id: INVITE_REVIEW }, reviewSubmission(deps));
  app.view({ type: 'view_submission', callback_id: DENY_MODAL }, denySubmission(deps));
}
