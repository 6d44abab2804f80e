import { chunked } from '../db/index.js';
import type { InvitesContext } from './context.js';
import { parseEmailList, type InvalidEntry } from './email-list.js';
import { shownStatus, type InvitationRow } from './model.js';
import { suggestAddress } from './typos.js';

/** What inviting a list would do, entry by entry, before anything is sent (the form's review). */
export interface ListReview {
  /** Addresses that would get a new invitation. */
  fresh: string[];
  /** Addresses whose invitation expired: a new one, with a new link. */
  renew: string[];
  /** Addresses with a live invitation, and its id (resent only if the inviter asks). */
  alreadyInvited: Array<{ email: string; invitationId: string }>;
  alreadyMember: string[];
  invalid: InvalidEntry[];
  /** Likely typos in domains: the address as typed, and what it was probably meant to be. */
  typos: Array<{ email: string; suggestion: string }>;
}

/** Reads what inviting these entries would do; changes nothing. */
export async function reviewList(ctx: Pick<InvitesContext, 'db' | 'clock'>, entries: string | readonly string[]): Promise<ListReview> {
  const parsed = parseEmailList(entries);
  const now = ctx.clock.now();
  const members = new Set<string>();
  const pending = new Map<string, Pick<InvitationRow, 'id' | 'status' | 'expires_at'>>();
  for (const batch of chunked(parsed.emails, 500)) {
    for (const row of (await ctx.db('members').whereIn('email', batch).where({ state: 'active' }).select('email')) as Array<{ email: string }>) members.add(row.email);
    const rows = (await ctx.db('invitations').whereIn('email', batch).whereIn('status', ['pending', 'awaiting']).select('id', 'email', 'status', 'expires_at')) as Array<Pick<InvitationRow, 'id' | 'email' | 'status' | 'expires_at'>>;
    for (const row of rows) pending.set(row.email, row);
  }
  const review: ListReview = { fresh: [], renew: [], alreadyInvited: [], alreadyMember: [], invalid: parsed.invalid, typos: [] };
  for (const email of parsed.emails) {
    const existing = pending.get(email);
    if (members.has(email)) review.alreadyMember.push(email);
    else if (!existing) review.fresh.push(email);
    else if (shownStatus(existing, now) === 'expired') review.renew.push(email);
    else review.alreadyInvited.push({ email, invitationId: existing.id });
    const suggestion = suggestAddress(email);
    if (suggestion && !members.has(email)) review.typos.push({ email, suggestion });
  }
  return review;
}
