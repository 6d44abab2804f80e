import type { Db, Trx } from '../db/index.js';
import { memberIdOf, slackUserIdOf, type Actor } from '../shared/actor.js';
import { DAY_MS } from '../shared/clock.js';
import { isLimited, type InvitePolicy } from './policy.js';

/**
 * How many more invitations this inviter may store now (the rule "Policy": INVITE_DAILY_LIMIT per
 * inviter per 24 hours, across Slack, the admin API and files); Infinity when not limited. Counts
 * the invitations created by the inviter — as a Slack user or as a member, one person either way —
 * in one read through the (inviter, created_at) indexes. Called under the inviting lock, so two
 * requests at once cannot both take the last places.
 */
export async function remainingToday(trx: Trx, policy: InvitePolicy, actor: Actor, now: number): Promise<number> {
  const inviter = limitedInviter(policy, actor);
  if (!inviter) return Infinity;
  const rows = (await createdToday(trx, inviter, now)) as Array<{ n: number | string }>;
  return Math.max(0, policy.dailyLimit - Number(rows[0]?.n ?? 0));
}

export type LimitedInviter = { slackUserId: string | null; memberId: string | null };

/** The count of the inviter's invitations of the last 24 hours, as a query (awaited, or a subquery of one statement). */
export function createdToday(db: Db | Trx, inviter: LimitedInviter, now: number) {
  return db('invitations')
    .where('created_at', '>', now - DAY_MS)
    .andWhere((q) => {
      if (inviter.slackUserId) q.orWhere('invited_by_slack_user_id', inviter.slackUserId);
      if (inviter.memberId) q.orWhere('invited_by_member_id', inviter.memberId);
    })
    .count({ n: '*' });
}

/**
 * When the inviter may store one more invitation: the moment the invitation that holds the last
 * place over the limit leaves the 24 hours (the limit may have been lowered since). Undefined when
 * not limited or not over it.
 */
export async function nextPlaceAt(db: Db | Trx, policy: InvitePolicy, actor: Actor, now: number): Promise<number | undefined> {
  const inviter = limitedInviter(policy, actor);
  if (!inviter) return undefined;
  const used = Number(((await createdToday(db, inviter, now)) as Array<{ n: number | string }>)[0]?.n ?? 0);
  if (used < policy.dailyLimit) return undefined;
  const holder = (await createdToday(db, inviter, now).clearCounters().clearSelect().select('created_at').orderBy('created_at', 'asc').offset(used - policy.dailyLimit).limit(1).first()) as { created_at: number | string } | undefined;
  return holder ? Number(holder.created_at) + DAY_MS : undefined;
}

/** Who the daily limit counts for this actor (a Slack user and their member are one person); undefined when not limited. */
export function limitedInviter(policy: InvitePolicy, actor: Actor): LimitedInviter | undefined {
  // No limit at all (the domain's default policy): nobody is counted.
  if (!Number.isFinite(policy.dailyLimit) || !isLimited(policy, actor)) return undefined;
  const slackUserId = slackUserIdOf(actor);
  const memberId = memberIdOf(actor);
  return slackUserId || memberId ? { slackUserId, memberId } : undefined;
}
