import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { decodeRow, type RowValue } from '../../action-values.js';
import { refusedHomeView } from '../../blocks/home.js';
import type { Block } from '../../blocks/limits.js';
import type { SlackDeps } from '../../deps.js';
import { failureText, SOMETHING_WENT_WRONG, staleButton } from '../../errors.js';
import { NOT_PERMITTED, payloadTeam, type SlackUser } from '../../identity.js';
import { loadNotice, renderNotice } from '../../notices/render.js';
import { homeScreen, invitationsScreen } from '../../screens.js';
import { repeatClaims } from '../../dedupe.js';
import { baseActionId } from '../../action-values.js';

/** A click on a block in a message (table, summary, members, a notice) or in App Home. */
export type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

type Message = { text: string; blocks?: Block[]; unfurl_links?: boolean; unfurl_media?: boolean };

/** The clicked element's value: a button's value or a select's chosen option. */
export function clickedValue(args: ClickArgs): string | undefined {
  const { action } = args;
  if (action.type === 'button') return action.value;
  return action.type === 'static_select' ? action.selected_option?.value : undefined;
}

function isHome(args: ClickArgs): boolean {
  return args.body.view?.type === 'home';
}

/**
 * A new message only the clicker sees: ephemeral beside the clicked message, or a DM when there
 * is no message to answer (App Home, a modal).
 */
export async function postToClicker(args: ClickArgs, message: Message): Promise<void> {
  if (args.body.response_url) await args.respond({ response_type: 'ephemeral', replace_original: false, ...message });
  else await args.client.chat.postMessage({ channel: args.body.user.id, ...message });
}

/** Tells only the clicker: an ephemeral message where there is a message, App Home otherwise. */
export async function tellClicker(args: ClickArgs, text: string): Promise<void> {
  if (isHome(args)) await args.client.views.publish({ user_id: args.body.user.id, view: refusedHomeView(text) });
  else await postToClicker(args, { text });
}

/**
 * Replaces the message the click came from; without one (App Home, a modal), the same content as a
 * DM. The replacement keeps the message's visibility (Slack cannot turn a DM's message ephemeral).
 */
export async function replaceMessage(args: ClickArgs, message: Message): Promise<void> {
  if (args.body.response_url) await args.respond({ replace_original: true, ...message });
  else await args.client.chat.postMessage({ channel: args.body.user.id, ...message });
}

/**
 * The clicking user, when they may manage invitations and members (read again for a click that
 * `changes` something); a refused user is told why, in `notPermitted`'s words when the click
 * needs another permission than Member: Manage.
 */
export async function clicker(deps: SlackDeps, args: ClickArgs, options: { changes?: boolean; notPermitted?: string } = {}): Promise<SlackUser | undefined> {
  const user = await deps.identities.identify(args.body.user.id, payloadTeam(args.body), { changes: options.changes });
  if (user.allowed) return user;
  await tellClicker(args, user.refusal === NOT_PERMITTED && options.notPermitted ? options.notPermitted : user.refusal!);
  return undefined;
}

/** Shows what happened where the click came from: the table, App Home or the notice redrawn with it on top. */
export async function showOutcome(deps: SlackDeps, args: ClickArgs, row: RowValue, notice: string): Promise<void> {
  switch (row.surface) {
    case 'table':
      await replaceMessage(args, await invitationsScreen(deps, row.table, notice));
      return;
    case 'home':
      await args.client.views.publish({ user_id: args.body.user.id, view: await homeScreen(deps, notice) });
      return;
    case 'summary':
      await tellClicker(args, notice);
      return;
    case 'notice': {
      const payload = row.noticeId ? await loadNotice(deps.db, row.noticeId) : undefined;
      const message = payload && row.noticeId ? await renderNotice(deps, row.noticeId, payload, notice) : undefined;
      if (message && args.body.response_url) await args.respond({ replace_original: true, ...message });
      else await tellClicker(args, notice);
    }
  }
}

/**
 * Shows a click's outcome where it came from (`draw`); when that fails (the redraw's read, Slack), the
 * notice is said on its own: what was done is never left unsaid, nor followed by "may not have been done".
 */
export async function showOrTell(deps: SlackDeps, args: ClickArgs, notice: string, draw: () => Promise<unknown>): Promise<void> {
  await draw().catch(async (error: unknown) => {
    deps.logger.warn({ err: error, action: args.action.action_id }, 'the outcome of a click could not be drawn in place; told on its own');
    // Said beside the message, else in a DM; failing both, only logged: never followed by an apology for a change that was made.
    await postToClicker(args, { text: notice })
      .catch(() => args.client.chat.postMessage({ channel: args.body.user.id, text: notice }))
      .catch((told: unknown) => deps.logger.error({ err: told, action: args.action.action_id }, 'the outcome of a click could not be told at all'));
  });
}

/**
 * What to say when a change was refused: the domain error in words, naming the subject as it is
 * now; anything unexpected is logged and answered with a generic apology.
 */
export async function failureWords(deps: SlackDeps, error: unknown, current: () => Promise<{ email: string }>, what: string): Promise<string> {
  const subject = await current().catch(() => undefined);
  return failureText(error, deps.logger, 'Slack action failed', { email: subject?.email, fields: { action: what } });
}

export interface ClickOptions {
  /** The click changes something: the clicker is read again, and it is done once however often Slack delivers it. */
  changes?: boolean;
  /** The click shows a secret (a link): the clicker is read again, as for a change. */
  reveals?: boolean;
  /** The words for someone refused for want of the permission, when the click needs another than Member: Manage. */
  notPermitted?: string;
  /**
   * Made again, the change does nothing more (a role chosen in a select): only Slack's redelivery
   * is dropped, not the same choice made again within the double-click window, which may undo a
   * choice made in between (Member, Admin, Member).
   */
  idempotent?: boolean;
}

/**
 * Every click starts the same way: ack at once, parse the clicked value strictly (a stale or
 * forged one is told so), check the clicker may manage (a refused one is told so); a click that
 * changes something is done once however often Slack delivers it (`changes`).
 */
export function onClick<V>(deps: SlackDeps, decode: (value: unknown) => V | undefined, run: (args: ClickArgs, value: V, user: SlackUser) => Promise<void>, options: ClickOptions = {}) {
  return async (args: ClickArgs) => {
    await args.ack();
    try {
      const raw = clickedValue(args);
      const value = decode(raw);
      if (value === undefined) return await tellClicker(args, staleButton(deps.command));
      const user = await clicker(deps, args, { changes: options.changes || options.reveals, notPermitted: options.notPermitted });
      if (!user) return;
      if (options.changes) {
        const click = options.idempotent ? undefined : { userId: user.slackUserId, actionId: baseActionId(args.action.action_id), value: String(raw) };
        const claims = repeatClaims({ triggerId: args.body.trigger_id, ...(click ? { click } : {}) });
        if (!(await deps.dedupe.first(claims))) {
          deps.logger.debug({ action: args.action.action_id }, 'repeated click ignored');
          return;
        }
      }
      await run(args, value, user);
    } catch (error) {
      // Acked already, so Slack shows nothing of a failure: the clicker is told, or they would click again.
      deps.logger.error({ err: error, action: args.action.action_id }, 'Slack action failed');
      const text = options.changes ? clickMayHaveFailed(deps.command) : SOMETHING_WENT_WRONG;
      await tellClicker(args, text).catch((told: unknown) => deps.logger.warn({ err: told }, 'could not tell the clicker that their click failed'));
    }
  };
}

/** After an unexpected failure of a click that changes something, which may have been done before it. */
function clickMayHaveFailed(command: string): string {
  return `:warning: Something went wrong on our side, and this may or may not have been done. Look again (\`${command} invites\`, or App Home) before you try again.`;
}

/**
 * A row button (Resend, Send new invitation, Revoke): one domain change, its outcome shown in
 * place. A stale button (the invitation changed meanwhile) gets the current state in words.
 */
export function rowAction(deps: SlackDeps, change: (invitationId: string, user: SlackUser, row: RowValue) => Promise<string>) {
  return onClick(
    deps,
    decodeRow,
    async (args, row, user) => {
      let notice: string;
      try {
        notice = await change(row.invitationId, user, row);
      } catch (error) {
        notice = await failureWords(deps, error, () => deps.invites.get(row.invitationId), args.action.action_id);
      }
      await showOrTell(deps, args, notice, () => showOutcome(deps, args, row, notice));
    },
    { changes: true },
  );
}
