import type { webApi } from '@slack/bolt';
import type { SlackDeps } from './deps.js';
import { NOT_PERMITTED } from './errors.js';
import type { SlackUser } from './permissions.js';

export const PROFILE_UNAVAILABLE = ':warning: I could not check your Slack profile just now, so nothing was changed. Please try again in a moment.';

/**
 * Who is asking, if they may manage members: the check every command, action and submission
 * makes before touching anything. A refused user is told why (by `refuse`) and gets undefined.
 */
export async function permitted(deps: SlackDeps, client: webApi.WebClient, slackUserId: string, refuse: (text: string) => Promise<unknown>): Promise<SlackUser | undefined> {
  let user: SlackUser;
  try {
    user = await deps.permissions.check(client, slackUserId);
  } catch (error) {
    deps.logger.warn({ err: error, slackUserId }, 'permission check failed');
    await refuse(PROFILE_UNAVAILABLE);
    return undefined;
  }
  if (user.allowed) return user;
  deps.logger.info({ slackUserId, member: user.member?.id }, 'Slack user refused: no member:manage');
  await refuse(NOT_PERMITTED);
  return undefined;
}
