import { randomBytes } from 'node:crypto';

/**
 * Slack's request shapes, as Slack sends them, in one place for every suite that talks to the
 * real Bolt receiver (the Slack suites, the notices suites, the hardening suite) or to Socket Mode
 * (test/support/slack-socket.ts).
 *
 * Two things Slack does on its side are modelled here, because these builders are the part of the
 * tests that plays Slack sending a request (see docs/research/slack-platform.md):
 *
 * - Trigger ids. Slack mints a trigger_id for each interaction it sends; it can be exchanged
 *   (views.open / views.push) once, within 3 seconds. Every builder below that puts a trigger_id in
 *   a payload *issues* it (records it with the time of building, i.e. of sending) in a registry the
 *   Web API stand-in (slack-api.ts) checks: a trigger the tests never sent is `invalid_trigger_id`
 *   there, as a made-up one is at Slack. `issueTrigger()` issues one by hand.
 *
 * - Typed text. Slack entity-escapes `&`, `<` and `>` in what a person types before it sends a
 *   slash command's `text` (it uses them for its own `<@U…>`, `<#C…|…>`, `<mailto:…|…>` and
 *   `<https://…>` forms). So `slashCommandFields({ text })` takes the text *as the person typed it*
 *   and sends `slackEscapeTyped(text)`. A test that needs Slack's own forms in the text either
 *   builds them with the helpers below and passes `raw: true`, e.g.
 *     text: `${slackEscapeTyped('Jane & co ')}${slackMailto('jane@corp.test')}`, raw: true
 *   or passes the complete wire text with `raw: true`. plain_text_input values in view
 *   submissions are sent as typed (Slack does not entity-escape them), so `viewSubmissionPayload`
 *   does no escaping.
 */

const TEAM = { id: 'T0TEST', domain: 'test' };

function slackUser(user: string) {
  return { id: user, username: user.toLowerCase(), team_id: TEAM.id };
}

// ------------------------------------------------------------------ trigger ids

const issuedTriggers = new Map<string, number>();

/** A trigger id in Slack's format (`digits.digits.hex`). */
export function newTriggerId(): string {
  return `${Date.now()}.${100_000_000_000 + Math.floor(Math.random() * 899_999_999_999)}.${randomBytes(16).toString('hex')}`;
}

/**
 * Records that Slack sent `id` (default: a new one) at `at` (default: now) and returns it. Issuing
 * an id again re-dates it (a new delivery); whether it was already exchanged is the stand-in's record.
 */
export function issueTrigger(id: string = newTriggerId(), at: number = Date.now()): string {
  issuedTriggers.set(id, at);
  return id;
}

/** When `id` was issued, or undefined when Slack never sent it. */
export function triggerIssuedAt(id: string): number | undefined {
  return issuedTriggers.get(id);
}

// ------------------------------------------------------------------ typed text

/** What Slack sends for text a person typed: `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`. */
export function slackEscapeTyped(typed: string): string {
  return typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A user mention in Slack's wire form: `<@U123>` or `<@U123|name>`. */
export function slackMention(userId: string, name?: string): string {
  return name === undefined ? `<@${userId}>` : `<@${userId}|${slackEscapeTyped(name)}>`;
}

/** A channel reference in Slack's wire form: `<#C123>` or `<#C123|name>`. */
export function slackChannel(channelId: string, name?: string): string {
  return name === undefined ? `<#${channelId}>` : `<#${channelId}|${slackEscapeTyped(name)}>`;
}

/** An email address as Slack links it in message text: `<mailto:a@x.io|a@x.io>`. */
export function slackMailto(email: string, label = email): string {
  return `<mailto:${email}|${slackEscapeTyped(label)}>`;
}

/** A link in Slack's wire form: `<https://x>` or `<https://x|label>`. */
export function slackLink(url: string, label?: string): string {
  return label === undefined ? `<${url}>` : `<${url}|${slackEscapeTyped(label)}>`;
}

// ------------------------------------------------------------------ payloads

/**
 * The form fields of a slash command typed in #general. `text` is what the person typed (escaped
 * as Slack escapes it) unless `raw` says it is already in Slack's wire form.
 */
export function slashCommandFields(o: { command: string; text: string; user: string; responseUrl: string; triggerId: string; raw?: boolean; channelId?: string; channelName?: string }): Record<string, string> {
  issueTrigger(o.triggerId);
  return {
    token: 'deprecated-verification-token',
    team_id: TEAM.id,
    team_domain: TEAM.domain,
    channel_id: o.channelId ?? 'C0GENERAL',
    channel_name: o.channelName ?? 'general',
    user_id: o.user,
    user_name: o.user.toLowerCase(),
    command: o.command,
    text: o.raw ? o.text : slackEscapeTyped(o.text),
    api_app_id: 'A0DOORMAN',
    is_enterprise_install: 'false',
    response_url: o.responseUrl,
    trigger_id: o.triggerId,
  };
}

type Block = { block_id?: string; elements?: Array<{ action_id?: string }>; accessory?: { action_id?: string } };

/** The clicked element as Slack reports it, in the block it sits in (when the blocks are known). */
export function clickedAction(element: { action_id: string; value?: string; type?: string; selected_option?: unknown }, blocks: readonly Block[] = [], actionTs?: string) {
  return {
    type: element.type ?? 'button',
    action_id: element.action_id,
    block_id: blocks.find((b) => b.elements?.some((e) => e.action_id === element.action_id) || b.accessory?.action_id === element.action_id)?.block_id ?? 'b',
    ...(element.value !== undefined ? { value: element.value } : {}),
    ...(element.selected_option ? { selected_option: element.selected_option } : {}),
    action_ts: actionTs ?? `${Date.now() / 1000}`,
  };
}

/** Where a click happened: an ephemeral message in #general, a DM from the bot, or App Home. */
export type ClickSurface =
  | { in: 'ephemeral'; responseUrl: string }
  | { in: 'dm'; responseUrl: string; channel: string; message: { text: unknown; blocks: unknown } }
  | { in: 'home' };

/** A block_actions payload. */
export function blockActionsPayload(o: { user: string; triggerId: string; action: Record<string, unknown>; surface: ClickSurface }) {
  issueTrigger(o.triggerId);
  const ts = o.surface.in === 'dm' ? '1700000000.000100' : '1700000000.000001';
  const where =
    o.surface.in === 'home'
      ? { container: { type: 'view', view_id: 'V0HOME' }, view: { id: 'V0HOME', type: 'home', team_id: TEAM.id, blocks: [], state: { values: {} } } }
      : o.surface.in === 'dm'
        ? {
            container: { type: 'message', message_ts: ts, channel_id: o.surface.channel, is_ephemeral: false },
            channel: { id: o.surface.channel, name: 'directmessage' },
            message: { type: 'message', ts, text: o.surface.message.text, blocks: o.surface.message.blocks, bot_id: 'B0BOT', user: 'U0BOT' },
            response_url: o.surface.responseUrl,
          }
        : {
            container: { type: 'message', message_ts: ts, channel_id: 'C0GENERAL', is_ephemeral: true },
            channel: { id: 'C0GENERAL', name: 'general' },
            response_url: o.surface.responseUrl,
          };
  return {
    type: 'block_actions',
    user: slackUser(o.user),
    api_app_id: 'A0DOORMAN',
    token: 'deprecated-verification-token',
    team: TEAM,
    trigger_id: o.triggerId,
    actions: [o.action],
    ...where,
  };
}

/**
 * A view_submission payload (the invite modal by default). plain_text_input values go in as typed:
 * Slack does not entity-escape them.
 */
export function viewSubmissionPayload(o: { user: string; triggerId: string; values: unknown; extra?: Record<string, unknown> }) {
  issueTrigger(o.triggerId);
  return {
    type: 'view_submission',
    team: TEAM,
    user: slackUser(o.user),
    api_app_id: 'A0DOORMAN',
    token: 'deprecated-verification-token',
    trigger_id: o.triggerId,
    view: { id: 'V0MODAL', team_id: TEAM.id, type: 'modal', callback_id: 'invite_modal', private_metadata: '', hash: 'h1', blocks: [], state: { values: o.values }, ...o.extra },
  };
}

/** A global shortcut (`type: shortcut`) as Slack sends it. */
export function globalShortcutPayload(o: { user: string; callbackId: string; triggerId: string }) {
  issueTrigger(o.triggerId);
  return {
    type: 'shortcut',
    token: 'deprecated-verification-token',
    action_ts: `${Date.now() / 1000}`,
    team: TEAM,
    user: slackUser(o.user),
    is_enterprise_install: false,
    enterprise: null,
    callback_id: o.callbackId,
    trigger_id: o.triggerId,
  };
}

/**
 * A file_input's value in view.state.values, as a view_submission carries it: the uploaded files
 * (the objects `SlackApiStandIn.addFile` returns), under `files`.
 */
export function fileInputValue(files: ReadonlyArray<Record<string, unknown>>) {
  return { type: 'file_input', files: files.map((f) => ({ ...f })) };
}

/** An Events API `event_callback` body around `event` (HTTP body, or a Socket Mode events_api payload). */
export function eventCallback(event: Record<string, unknown>, o: { eventId?: string; eventTime?: number } = {}) {
  return {
    token: 'deprecated-verification-token',
    team_id: TEAM.id,
    api_app_id: 'A0DOORMAN',
    event,
    type: 'event_callback',
    event_id: o.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: o.eventTime ?? Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: TEAM.id, user_id: 'U0BOT', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  };
}
