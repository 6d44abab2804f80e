import { webApi } from '@slack/bolt';

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
