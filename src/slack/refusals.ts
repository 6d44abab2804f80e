import { webApi } from '@slack/bolt';
import type { Logger } from '../logger.js';
import type { Clock } from '../shared/clock.js';

/** The error a Web API call was refused with (`channel_not_found`…), or undefined when it failed otherwise (network, 429, 5xx). */
export function slackRefusal(error: unknown): string | undefined {
  const e = error as { code?: string; data?: { error?: string } };
  return e.code === webApi.ErrorCode.PlatformError ? e.data?.error : undefined;
}

/** The wait Slack asked for with a 429 (the Web API client's rate-limited error), or undefined when it is not one. */
export function rateLimitWaitMs(error: unknown): number | undefined {
  const limited = error as Partial<webApi.WebAPIRateLimitedError> | undefined;
  return limited?.code === webApi.ErrorCode.RateLimitedError ? Math.max(1, limited.retryAfter ?? 1) * 1_000 : undefined;
}

/**
 * Slack's refusals that retrying cannot fix: the channel, user or message is gone or closed, or the
 * content is refused (`msg_blocks_too_long`: more text in the blocks than Slack takes). Refusals of
 * the app itself are not among them (`account_inactive`: its bot or workspace deactivated;
 * `no_permission`, `restricted_action`: the workspace's settings; like `token_revoked`): the
 * operator can fix those, and the work then goes out instead of having been dropped.
 */
export const REFUSED_FOR_GOOD: ReadonlySet<string> = new Set([
  'channel_not_found', 'user_not_found', 'user_disabled', 'is_archived', 'is_inactive', 'cannot_dm_bot', 'not_in_channel',
  'restricted_action_read_only_channel', 'restricted_action_thread_only_channel', 'restricted_action_non_threadable_channel',
  'message_not_found', 'cant_update_message', 'edit_window_closed',
  'invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'msg_blocks_too_long', 'no_text',
]);

/** Whether a Web API call failed with one of REFUSED_FOR_GOOD. */
export function refusedForGood(error: unknown): boolean {
  return REFUSED_FOR_GOOD.has(slackRefusal(error) ?? '');
}

/**
 * Slack refusing the app itself (its token revoked or expired, the bot or workspace deactivated):
 * every call fails alike until the operator mends it, so the work waits (OutageHold) rather than
 * each item being tried, or dropped, in turn.
 */
export const APP_REFUSED: ReadonlySet<string> = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive']);

/**
 * Refusals of a post to a channel the bot cannot reach or may not post in (announcement-only, threads
 * only): the operator's to fix, not the message's.
 */
export const CHANNEL_OUT_OF_REACH: ReadonlySet<string> = new Set([
  'not_in_channel', 'channel_not_found', 'is_archived',
  'restricted_action_read_only_channel', 'restricted_action_thread_only_channel', 'restricted_action_non_threadable_channel',
]);

/** How soon work waiting on a channel the bot cannot post in is tried again: the operator adding the bot is the fix. */
export const CHANNEL_RETRY_MS = 60_000;

/** Refusals of a DM that mean the person cannot be reached there (gone, disabled, a bot). */
export const PERSON_OUT_OF_REACH: ReadonlySet<string> = new Set(['channel_not_found', 'user_not_found', 'user_disabled', 'cannot_dm_bot', 'is_inactive']);

/** What the operator does about a channel the bot cannot post in. */
export function channelFix(channel: string, refused: string): string {
  if (refused === 'not_in_channel') return `the bot is not in ${channel}; add it there (in the channel: /invite @Doorman)`;
  if (refused === 'is_archived') return `${channel} is archived; unarchive it or name another channel`;
  if (refused.startsWith('restricted_action_')) return `Slack does not let the bot post in ${channel} (only some members may post there, or only in threads); let it post there or name another channel`;
  return `Slack knows no channel ${channel} the bot can see; check the id, or add the bot to it if it is private`;
}

/**
 * Warns that the bot cannot post in the channel a setting names, with the fix, at most once an hour
 * per setting: the work waits for the operator, and a warning per try would flood the log.
 */
export function channelWarner(logger: Logger, clock: Clock, everyMs = 3_600_000): (setting: string, channel: string, refused: string, meanwhile: string) => void {
  const warnedAt = new Map<string, number>();
  return (setting, channel, refused, meanwhile) => {
    const now = clock.now();
    if (now - (warnedAt.get(setting) ?? -Infinity) < everyMs) return;
    warnedAt.set(setting, now);
    logger.warn({ channel, refused }, `${setting}: ${channelFix(channel, refused)}; ${meanwhile}`);
  };
}
