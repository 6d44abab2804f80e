/**
 * Slack's request shapes, as Slack sends them, in one place for every suite that talks to the
 * real Bolt receiver (the Slack suites, the notices suites, the hardening suite).
 */

const TEAM = { id: 'T0TEST', domain: 'test' };

function slackUser(user: string) {
  return { id: user, username: user.toLowerCase(), team_id: TEAM.id };
}

/** The form fields of a slash command typed in #general. */
export function slashCommandFields(o: { command: string; text: string; user: string; responseUrl: string; triggerId: string }): Record<string, string> {
  return {
    token: 'deprecated-verification-token',
    team_id: TEAM.id,
    team_domain: TEAM.domain,
    channel_id: 'C0GENERAL',
    channel_name: 'general',
    user_id: o.user,
    user_name: o.user.toLowerCase(),
    command: o.command,
    text: o.text,
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

/** The invite modal submitted with these state values. */
export function viewSubmissionPayload(o: { user: string; triggerId: string; values: unknown; extra?: Record<string, unknown> }) {
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
