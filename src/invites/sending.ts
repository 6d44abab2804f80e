import { chunked, isPostgres, type Trx } from '../db/index.js';
import type { OutboxMessage } from '../outbox/outbox.js';
import type { InvitationRow } from './model.js';

/** The outbox kind of invitation emails. */
export const INVITE_EMAIL = 'invite_email';

/** Drops the invitation emails still waiting for these invitations (revoked, accepted, held, or their link replaced), saying why. */
export async function cancelWaitingEmails(trx: Trx, invitationIds: readonly string[], now: number, reason: string): Promise<void> {
  for (const ids of chunked(invitationIds)) {
    await trx('outbox').whereIn('invitation_id', ids).where({ state: 'pending', kind: INVITE_EMAIL }).update({ state: 'cancelled', done_at: now, last_error: reason });
  }
}

/** The link generation a queued invitation email is for, read from its JSON payload in SQL. */
export function payloadNonceSql(trx: Trx): string {
  return isPostgres(trx) ? `(payload::json->>'nonce')` : `json_extract(payload, '$.nonce')`;
}

/**
 * A new link replaces these invitations' links: the old ones are kept (an old email's link then
 * reads "replaced", not "not valid") and their emails still waiting are dropped. Before the new
 * link's email is queued.
 */
export async function replaceLinks(trx: Trx, replaced: ReadonlyArray<Pick<InvitationRow, 'id' | 'token_hash'>>, now: number): Promise<void> {
  await keepReplacedLinks(trx, replaced, now);
  await cancelWaitingEmails(trx, replaced.map((row) => row.id), now, LINK_REPLACED);
}

/** Keeps the links these invitations had before a new one replaced them (LinkReplaced tells them apart from links that never were). */
async function keepReplacedLinks(trx: Trx, replaced: ReadonlyArray<Pick<InvitationRow, 'id' | 'token_hash'>>, now: number): Promise<void> {
  for (const rows of chunked(replaced)) {
    await trx('replaced_links').insert(rows.map((row) => ({ token_hash: row.token_hash, invitation_id: row.id, replaced_at: now }))).onConflict('token_hash').ignore();
  }
}

/** Why an email of a replaced link is dropped. */
export const LINK_REPLACED = 'a newer invitation replaced this one';

/** What the invitation email worker needs to build the message at delivery time (never the link itself). */
export interface InviteEmailPayload {
  invitationId: string;
  /** The token generation the email is for; a newer one makes this email obsolete. */
  nonce: string;
  /** `invite`: the first email; `resend`: the same link again; `renew`: a new link after expiry (Send new invitation). */
  reason: 'invite' | 'resend' | 'renew';
}

export function inviteEmail(invitationId: string, nonce: string, reason: InviteEmailPayload['reason']): OutboxMessage<InviteEmailPayload> {
  return { kind: INVITE_EMAIL, invitationId, payload: { invitationId, nonce, reason } };
}

/**
 * The rule "Send new invitation" as columns: a new token (the old link dies), a new expiry (past
 * the expiry sweep's marks, so its notices are due again), the email queued.
 */
export function newLinkColumns(row: Pick<InvitationRow, 'send_count'>, token: { hash: string; nonce: string }, now: number, ttlMs: number) {
  return {
    token_hash: token.hash,
    token_nonce: token.nonce,
    expires_at: now + ttlMs,
    last_sent_at: now,
    send_count: Number(row.send_count) + 1,
    updated_at: now,
    delivery_state: 'queued' as const,
    delivery_error: null,
  };
}
