import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { INVITE_MODAL } from '../../values.js';
import { inviteSubmission } from './invite-submission.js';

export function register(app: App, deps: SlackDeps): void {
  app.view({ callback_id: INVITE_MODAL, type: 'view_submission' }, inviteSubmission(deps));
}
