import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { noteAck } from '../../unhandled.js';
import { INVITE_MODAL } from '../../values.js';
import { inviteSubmission } from './invite-submission.js';

export function register(app: App, deps: SlackDeps): void {
  const submission = inviteSubmission(deps);
  app.view({ callback_id: INVITE_MODAL, type: 'view_submission' }, async (args) => submission(noteAck(args) as never));
}
