import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { ACTIONS, DENY_MODAL, INVITE_MODAL, INVITE_REVIEW } from '../action-values.js';
import type { SlackDeps } from '../deps.js';
import { staleButton } from '../errors.js';
import { INVITE_SHORTCUT } from '../manifest.js';
import { ephemeral } from './commands/answer.js';
import { tellClicker } from './actions/click.js';

/** Action ids of buttons in messages posted before they were renamed (people still have such DMs). */
const RENAMED_ACTIONS = ['invite_send_new', 'notice_show_expired'];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Matches any id but these (each with or without a position suffix, as buttons carry). */
function anyBut(ids: readonly string[], suffixed = false): RegExp {
  return new RegExp(`^(?!(?:${ids.map(escapeRegExp).join('|')})${suffixed ? '(?:_\\d+)?' : ''}$)`);
}

/**
 * The last listener of each surface: a request no other listener is for — a button from a message
 * older than its id, a command an app installed from an older manifest still sends, a made-up id —
 * is acknowledged at once and changes nothing, instead of waiting for Bolt's 3-second timeout.
 * Old buttons and commands say where things are now.
 */
export function register(app: App, deps: SlackDeps): void {
  app.command(anyBut([deps.command]), async ({ ack }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await ack(ephemeral(`Doorman answers to \`${deps.command}\` now: try \`${deps.command} help\`.`));
  });
  app.action<BlockAction>({ type: 'block_actions', action_id: anyBut(Object.values(ACTIONS), true) }, async (args: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await args.ack();
    const renamed = RENAMED_ACTIONS.some((id) => new RegExp(`^${id}(?:_\\d+)?$`).test(args.action.action_id));
    if (renamed) await tellClicker(args, staleButton(deps.command));
    else deps.logger.debug({ action: args.action.action_id }, 'a click no listener is for, acknowledged');
  });
  app.view({ type: 'view_submission', callback_id: anyBut([INVITE_MODAL, INVITE_REVIEW, DENY_MODAL]) }, async ({ ack }) => {
    await ack();
  });
  app.shortcut({ callback_id: anyBut([INVITE_SHORTCUT]) }, async ({ ack }) => {
    await ack();
  });
}
