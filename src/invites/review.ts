import { chunked } from '../db/index.js';
import type { InvitesContext } from './context.js';
import { parseEmailList, type InvalidEntry } from './email-list.js';
import { standingOf, storedFor } from './standing.js';
import { suggestAddress } from './typos.js';

/** What inviting a list would do, entry by entry, before anything is sent (the form's review). */
export interface ListReview {
  /** Addresses that would get a new invitation. */
  fresh: string[];
  /** Addresses whose invitation expired: a new one, with a new link. */
  renew: string[];
  /** Addresses with a live invitation, and its id (resent only if the inviter asks). */
  alreadyInvited: Array<{ email: string; invitationId: string }>;
  /** Addresses already waiting for approval (skipped: only an approver sends them); missing in drafts saved by an earlier version. */
  alreadyAwaiting?: Array<{ email: string; invitationId: string }>;
  alreadyMember: string[];
  invalid: InvalidEntry[];
  /** Likely typos in domains: the address as typed, and what it was probably meant to be. */
  typos: Array<{ email: string; suggestion: string }>;
}

/** Reads what inviting these entries would do; changes nothing. */
export async function reviewList(ctx: Pick<InvitesContext, 'db' | 'clock'>, entries: string | readonly string[]): Promise<ListReview> {
  const parsed = parseEmailList(entries);
  const now = ctx.clock.now();
  const alreadyAwaiting: NonNullable<ListReview['alreadyAwaiting']> = [];
  const review: ListReview = { fresh: [], renew: [], alreadyInvited: [], alreadyAwaiting, alreadyMember: [], invalid: parsed.invalid, typos: [] };
  for (const batch of chunked(parsed.emails, 500)) {
    const stored = await storedFor(ctx.db, batch, { lock: false });
    for (const email of batch) {
      const standing = standingOf(email, stored, now);
      if (standing.kind === 'member') review.alreadyMember.push(email);
      else if (standing.kind === 'new') review.fresh.push(email);
      else if (standing.kind === 'expired') review.renew.push(email);
      else if (standing.kind === 'held') alreadyAwaiting.push({ email, invitationId: standing.invitation.id });
      else review.alreadyInvited.push({ email, invitationId: standing.invitation.id });
      const suggestion = suggestAddress(email);
      if (suggestion && standing.kind !== 'member') review.typos.push({ email, suggestion });
    }
  }
  return review;
}
