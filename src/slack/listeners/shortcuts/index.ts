import type { AllMiddlewareArgs, App, GlobalShortcut, SlackShortcutMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { INVITE_SHORTCUT } from '../../manifest.js';
import { openInviteModal } from '../open-modal.js';

/** The global shortcut "Invite people": the invite modal from Slack's shortcut menu and search. */
export function register(app: App, deps: SlackDeps): void {
  app.shortcut<GlobalShortcut>({ type: 'shortcut', callback_id: INVITE_SHORTCUT }, invitePeopleShortcut(deps));
}

export function invitePeopleShortcut(deps: SlackDeps) {
  return async ({ ack, shortcut, client }: SlackShortcutMiddlewareArgs<GlobalShortcut> & AllMiddlewareArgs) => {
    await ack();
    // A shortcut has no message to answer: a form that did not open is said in a DM.
    await openInviteModal(deps, { triggerId: shortcut.trigger_id, userId: shortcut.user.id, teamId: shortcut.team?.id }, (text) => client.chat.postMessage({ channel: shortcut.user.id, text }));
  };
}
