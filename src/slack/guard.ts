import type { webApi } from '@slack/bolt';
import type { SlackDeps } from './deps.js';
import { NOT_PERMITTED } from './errors.js';
import type { SlackUser } from './permissions.js';

export const PROFILE_UNAVAILABLE = ':warning: I could not check your Slack profile just now, so nothing was changed. Please try again in a moment.';

/**
 * Who is asking, and whether they may manage members: the check every command, action and
 * submission makes before touching anything. A refused user comes back with the words that say why.
 */
export async function permittedOr(deps: SlackDeps, client: webApi.WebClient, slackUserId: string): Promise<(SlackUser & { allowed: true }) | { allowed: false; refusal: string }> {
  let user: SlackUser;
  try {
    user = await deps.permissions.check(client, slackUserId);
  } catch (error) {
    deps.logger.warn({ err: error, slackUserId }, 'permission check failed');
    return { allowed: false, refusal: PROFILE_UNAVAILABLE };
  }
  if (user.allowed) return user as SlackUser & { allowed: true };
  deps.logger.info({ slackUserId, member: user.member?.id }, 'Slack user refused: no member:manage');
  return { allowed: false, refusal: NOT_PERMITTED };
}

/** `permittedOr`, telling a refused user why through `refuse`; undefined when refused. */
export async function permitted(deps: SlackDeps, client: webApi.WebClient, slackUserId: string, refuse: (text: string) => Promise<unknown>): Promise<SlackUser | undefined> {
  const user = await permittedOr(deps, client, slackUserId);
  if (user.allowed) return user;
  await refuse(user.refusal);
  return undefined;
}
