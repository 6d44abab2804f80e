import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { refusedHomeView } from '../../blocks/home.js';
import type { SlackDeps } from '../../deps.js';
import { slackWords, SOMETHING_WENT_WRONG, STALE_BUTTON } from '../../errors.js';
import { permitted } from '../../guard.js';
import type { SlackUser } from '../../permissions.js';
import { loadNotice, renderNotice } from '../../notices.js';
import { renderHome, renderTable } from '../../render.js';
import { decodeRow, type RowValue } from '../../values.js';

/** A click on a block in a message (table, summary, members) or in App Home. */
export type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** The clicked element's value: a button's value or a select's chosen option. */
export function clickedValue(args: ClickArgs): string | undefined {
  const action = args.action as { value?: string; selected_option?: { value?: string } };
  return action.value ?? action.selected_option?.value;
}

function isHome(args: ClickArgs): boolean {
  return args.body.view?.type === 'home';
}

/**
 * A new message only the clicker sees: ephemeral beside the clicked message, or a DM when there
 * is no message to answer (App Home, a forged payload).
 */
export async function postToClicker(args: ClickArgs, message: { text: string; blocks?: unknown[]; unfurl_links?: boolean; unfurl_media?: boolean }): Promise<void> {
  if (args.body.response_url) await args.respond({ response_type: 'ephemeral', replace_original: false, ...(message as { text: string }) });
  else await args.client.chat.postMessage({ channel: args.body.user.id, ...(message as { text: string }) });
}

/** Tells only the clicker: an ephemeral message where there is a message, App Home otherwise. */
export async function tellClicker(deps: SlackDeps, args: ClickArgs, text: string): Promise<void> {
  if (isHome(args)) {
    await args.client.views.publish({ user_id: args.body.user.id, view: refusedHomeView(text) });
  } else {
    await postToClicker(args, { text });
  }
}

/**
 * Replaces the message the click came from; a click without a message to answer (a forged or
 * App Home payload on a message-only button) gets the same content as a DM instead.
 */
export async function replaceMessage(args: ClickArgs, message: { text: string; blocks?: unknown[] }): Promise<void> {
  if (args.body.response_url) await args.respond({ replace_original: true, response_type: 'ephemeral', ...(message as { text: string }) });
  else await args.client.chat.postMessage({ channel: args.body.user.id, ...(message as { text: string }) });
}

/** The clicking user, when they may manage invitations and members; refused users are told so. */
export function clicker(deps: SlackDeps, args: ClickArgs): Promise<SlackUser | undefined> {
  return permitted(deps, args.client, args.body.user.id, (text) => tellClicker(deps, args, text));
}

/** Shows what happened where the click came from: the table or App Home re-rendered with a notice. */
export async function showOutcome(deps: SlackDeps, args: ClickArgs, row: RowValue, notice: string): Promise<void> {
  switch (row.surface) {
    case 'table':
      await replaceMessage(args, await renderTable(deps, row.table, notice));
      return;
    case 'home':
      await args.client.views.publish({ user_id: args.body.user.id, view: await renderHome(deps, notice) });
      return;
    case 'summary':
      await tellClicker(deps, args, notice);
      return;
    case 'notice': {
      // The DM is drawn again from the current state, with what happened on top.
      const payload = row.noticeId ? await loadNotice(deps.db, row.noticeId) : undefined;
      const message = payload && row.noticeId ? await renderNotice(deps, row.noticeId, payload, notice) : undefined;
      if (message && args.body.response_url) await args.respond({ replace_original: true, ...message });
      else await tellClicker(deps, args, notice);
    }
  }
}

/**
 * A row button (Resend, Send new invitation, Revoke): ack, re-validate the value, check the clicker,
 * run one domain change, and show its outcome in place. A stale button (the invitation changed
 * meanwhile) gets the current state in words, never an error.
 */
export function rowAction(deps: SlackDeps, change: (invitationId: string, user: SlackUser) => Promise<string>) {
  return onClick(deps, decodeRow, async (args, row, user) => {
    let notice: string;
    try {
      notice = await change(row.invitationId, user);
    } catch (error) {
      notice = await failureWords(deps, error, () => deps.invites.get(row.invitationId), args.action.action_id);
    }
    await showOutcome(deps, args, row, notice);
  });
}

/**
 * Every click starts the same way: ack at once, parse the clicked value strictly (a stale or
 * forged one is told so), check the clicker may manage (a refused one is told so), then run.
 */
export function onClick<V>(deps: SlackDeps, decode: (value: unknown) => V | undefined, run: (args: ClickArgs, value: V, user: SlackUser) => Promise<void>) {
  return async (args: ClickArgs) => {
    await args.ack();
    const value = decode(clickedValue(args));
    if (value === undefined) return tellClicker(deps, args, STALE_BUTTON);
    const user = await clicker(deps, args);
    if (!user) return;
    await run(args, value, user);
  };
}

/**
 * What to say when a change was refused: the domain error in words, naming the subject as it is
 * now; anything unexpected is logged and answered with a generic apology.
 */
export async function failureWords(deps: SlackDeps, error: unknown, current: () => Promise<{ email: string }>, what: string): Promise<string> {
  const subject = await current().catch(() => undefined);
  const words = slackWords(error, subject?.email);
  if (!words) deps.logger.error({ err: error, action: what }, 'Slack action failed');
  return words ?? SOMETHING_WENT_WRONG;
}
