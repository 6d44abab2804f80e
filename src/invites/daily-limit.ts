import type { Trx } from '../db/index.js';
import type { Actor } from '../shared/actor.js';
import { DAY_MS, isLimited, type InvitePolicy } from './policy.js';

/**
 * How many more invitations this inviter may store now (the rule "Policy": INVITE_DAILY_LIMIT per
 * inviter per 24 hours, across Slack, the admin API and files); Infinity when not limited. Counts
 * the invitations created by the inviter — as a Slack user or as a member, one person either way —
 * in one read through the (inviter, created_at) indexes. Called under the inviting lock, so two
 * requests at once cannot both take the last places.
 */
export async function remainingToday(trx: Trx, policy: InvitePolicy, actor: Actor, now: number): Promise<number> {
  if (!isLimited(policy, actor)) return Infinity;
  const slackUserId = actor.type === 'slack' ? actor.slackUserId : null;
  const memberId = actor.type === 'member' ? actor.memberId : actor.type === 'slack' ? (actor.memberId ?? null) : null;
  if (!slackUserId && !memberId) return Infinity;
  const rows = (await trx('invitations')
    .where('created_at', '>', now - DAY_MS)
    .andWhere((q) => {
      if (slackUserId) q.orWhere('invited_by_slack_user_id', slackUserId);
      if (memberId) q.orWhere('invited_by_member_id', memberId);
    })
    .count({ n: '*' })) as Array<{ n: number | string }>;
  return Math.max(0, policy.dailyLimit - Number(rows[0]?.n ?? 0));
}
