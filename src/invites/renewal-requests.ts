import { inTransaction } from '../db/index.js';
import { recordAudit } from '../audit/audit.js';
import type { Actor } from '../shared/actor.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { rowByToken } from './accept.js';
import { invitationRow, isMember, type InvitesContext } from './context.js';
import { shownStatus, toInvitation } from './model.js';

/** However often an expired link's page is used, its inviter is asked at most once in this time. */
export const RENEWAL_REQUEST_GAP_MS = 24 * 60 * 60_000;

/** Who asks: the person holding the link, known to no one yet. */
export const INVITEE_NAME = 'invitee';
const INVITEE: Actor = { type: 'system', name: INVITEE_NAME };

export interface RenewalRequest {
  id: string;
  invitationId: string;
  requestedAt: number;
  dismissedAt: number | null;
  dismissedBy: string | null;
}

interface RenewalRequestRow {
  id: string;
  invitation_id: string;
  requested_at: number | string;
  dismissed_at: number | string | null;
  dismissed_by: string | null;
}

/**
 * The holder of an expired link asks for a new one (the rule "Renewal on request"): the inviter is
 * told, at most once a day per invitation, and the request is audited. A link that is not expired,
 * or not a link, asks for nothing. Answers whether a request went out; the page says the same
 * either way, so it tells a stranger nothing about the link.
 */
export async function requestRenewal(ctx: InvitesContext, token: unknown): Promise<boolean> {
  const notify = ctx.onRenewalRequested;
  if (!notify) return false;
  let found;
  try {
    found = await rowByToken(ctx, ctx.db, token);
  } catch (error) {
    // Not a link, or one a newer invitation replaced (that one is the person's to use, or it was
    // accepted, revoked or held since): nothing to ask for.
    if (error instanceof DomainError) return false;
    throw error;
  }
  // A member's address gets no new invitation: nobody is asked for one.
  if (shownStatus(found, ctx.clock.now()) !== 'expired' || (await isMember(ctx.db, found.email))) return false;
  const requested = await inTransaction(ctx.db, async (trx) => {
    const now = ctx.clock.now();
    // Locked, so two requests at once make one.
    const row = await invitationRow(trx, found.id, true);
    if (shownStatus(row, now) !== 'expired') return false;
    const recent = await trx('renewal_requests').where({ invitation_id: row.id }).andWhere('requested_at', '>', now - RENEWAL_REQUEST_GAP_MS).first('id');
    if (recent) return false;
    const id = newId('renew');
    await trx('renewal_requests').insert({ id, invitation_id: row.id, requested_at: now });
    await recordAudit(trx, now, INVITEE, [{ action: 'renewal_request', subjectType: 'invitation', subjectId: row.id, details: { request: id, email: row.email } }]);
    await notify(trx, now, toInvitation(row, now), id);
    return true;
  });
  if (requested) ctx.onQueued();
  return requested;
}

/** The request as it is now (for drawing its DM again). */
export async function renewalRequest(ctx: InvitesContext, id: string): Promise<RenewalRequest | undefined> {
  const row = (await ctx.db('renewal_requests').where({ id }).first()) as RenewalRequestRow | undefined;
  if (!row) return undefined;
  return {
    id: row.id,
    invitationId: row.invitation_id,
    requestedAt: Number(row.requested_at),
    dismissedAt: row.dismissed_at === null ? null : Number(row.dismissed_at),
    dismissedBy: row.dismissed_by,
  };
}

/** "Dismiss" on the request's DM: nothing is sent, and who dismissed it is audited. Done once. */
export async function dismissRenewalRequest(ctx: InvitesContext, id: string, actor: Actor): Promise<boolean> {
  return inTransaction(ctx.db, async (trx) => {
    const now = ctx.clock.now();
    const by = actor.type === 'slack' ? actor.slackUserId : actor.type === 'member' ? actor.memberId : 'system';
    const changed = await trx('renewal_requests').where({ id, dismissed_at: null }).update({ dismissed_at: now, dismissed_by: by });
    if (!changed) return false;
    const row = (await trx('renewal_requests').join('invitations', 'invitations.id', 'renewal_requests.invitation_id').where('renewal_requests.id', id).first('invitations.id', 'invitations.email')) as { id: string; email: string };
    await recordAudit(trx, now, actor, [{ action: 'renewal_request_dismiss', subjectType: 'invitation', subjectId: row.id, details: { request: id, email: row.email } }]);
    return true;
  });
}
