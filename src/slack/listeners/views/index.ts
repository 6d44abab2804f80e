import type { App } from '@slack/bolt';
import { INVITE_MODAL } from '../../action-values.js';
import type { SlackDeps } from '../../deps.js';
import { inviteSubmission } from './invite-submission.js';

/** The submitted modals. */
export function register(app: App, deps: SlackDeps): void {
  app.view({ type: 'view_submission', callback_id: INVITE_MODAL }, inviteSubmission(deps));
}
