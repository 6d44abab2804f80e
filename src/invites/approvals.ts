import { recordAudit } from '../audit/audit.js';
import { bulkInsert, type ColumnTypes } from '../db/bulk-insert.js';
import { chunked, type Db, type Trx } from '../db/index.js';
import { invitationEvent } from '../events/events.js';
import type { Actor } from '../shared/actor.js';
import { NotFound } from '../shared/errors.js';
import { isIdOf, newId } from '../shared/ids.js';
import type { InvitesContext } from './context.js';
import { toInvitation, type Invitation, type InvitationRow } from './model.js';
import { encodeReasons, type ApprovalReason } from './policy.js';
import { newLinkColumns } from './sending.js';

/**
 * Approval requests of the rule "Policy": invitations stored as `awaiting` (shown as Awaiting
 * approval; nothing emailed), held together by one inviting action as one request, and who counts
 * as the person who asked (the two-person rule). The decisions are in decisions.ts.
 */

/** Advisory lock id of every transaction that creates open invitations (shared with invite-many). */
export const INVITE_LOCK = 0x646f6f72;

/** Held invitation rows carry why they wait. */
export type HeldInvitationRow = Pick<
  InvitationRow,
  | 'id' | 'email' | 'role' | 'status' | 'token_hash' | 'token_nonce' | 'expires_at' | 'invited_by_member_id' | 'invited_by_slack_user_id'
  | 'invited_by_name' | 'created_at' | 'updated_at' | 'last_sent_at' | 'send_count' | 'delivery_state' | 'ttl_ms' | 'message' | 'approval_reasons'
>;
const HELD_INVITATION_COLUMNS: ColumnTypes<HeldInvitationRow> = {
  id: 'text', email: 'text', role: 'text', status: 'text', token_hash: 'text', token_nonce: 'text', expires_at: 'bigint',
  invited_by_member_id: 'text', invited_by_slack_user_id: 'text', invited_by_name: 'text', created_at: 'bigint', updated_at: 'bigint',
  last_sent_at: 'bigint', send_count: 'integer', delivery_state: 'text', ttl_ms: 'bigint', message: 'text', approval_reasons: 'text',
};

/** The columns an invitation takes when it is (again) held: waiting, nothing sent, no decision yet. */
export function heldColumns(reasons: readonly ApprovalReason[], now: number, inviteTtlMs: number) {
  return {
    status: 'awaiting' as const,
    approval_reasons: encodeReasons(reasons),
    // The decision window is INVITE_TTL; the link's own expiry starts at approval.
    expires_at: now + inviteTtlMs,
    updated_at: now,
    decided_at: null,
    decided_by: null,
    decided_by_name: null,
    decision: null,
    deny_reason: null,
  };
}

/**
 * An expired invitation renewed into a hold: its new link, held, with no email counted (none is
 * queued until an approval, which sends the first), so a hold denied or lapsed lists none as queued.
 */
export function heldRenewalColumns(row: Pick<InvitationRow, 'send_count'>, token: { hash: string; nonce: string }, reasons: readonly ApprovalReason[], now: number, inviteTtlMs: number) {
  return { ...newLinkColumns(row, token, now, inviteTtlMs), ...heldColumns(reasons, now, inviteTtlMs), send_count: 0 };
}

/** The columns of a request's new invitations: the held row and the request it belongs to. */
const REQUESTED_COLUMNS: ColumnTypes<HeldInvitationRow & { approval_request_id: string }> = { ...HELD_INVITATION_COLUMNS, approval_request_id: 'text' };

/**
 * Request: stores new held invitations and records them in approval request `requestId`
 * (already-stored ones, moved to held by the caller, are named in `movedIds`). What one inviting
 * action holds is one request, which approvers see as one message, even when the action stores its
 * list in several transactions (a file import's batches). Inside the inviting transaction, which
 * then asks the approvers once for all it held (askApprovers).
 */
export async function requestApprovals(ctx: InvitesContext, trx: Trx, now: number, actor: Actor, fresh: HeldInvitationRow[], movedIds: string[], requestId = newId('request')): Promise<Invitation[]> {
  const ids = [...fresh.map((r) => r.id), ...movedIds];
  if (ids.length === 0) return [];
  await bulkInsert(trx, 'invitations', REQUESTED_COLUMNS, fresh.map((row) => ({ ...row, approval_request_id: requestId })));
  for (const chunk of chunked(movedIds)) await trx('invitations').whereIn('id', chunk).update({ approval_request_id: requestId });
  const found = new Map((await selectChunked(trx, ids)).map((row) => [row.id, row]));
  // In the list's order, so requests, audit rows and events read as the list did.
  const rows = ids.flatMap((id) => found.get(id) ?? []);
  const held = rows.map((row) => toInvitation(row, now));
  await recordAudit(trx, now, actor, held.map((i) => ({ action: 'approval_request', subjectType: 'invitation', subjectId: i.id, details: { email: i.email, role: i.role, reasons: i.approval?.reasons ?? [] } })));
  await ctx.events.queueEvents(trx, now, rows.map((row) => invitationEvent('invite.approval_requested', row, actor, { reason: row.approval_reasons ?? '' })));
  return held;
}

/** Asks for approval of what a transaction held, once for all of it (the hook wired in app.ts: Slack messages). */
export async function askApprovers(ctx: InvitesContext, trx: Trx, now: number, held: Invitation[]): Promise<void> {
  if (held.length) await ctx.onApprovalRequested?.(trx, now, held);
}

async function selectChunked(trx: Trx, ids: readonly string[]): Promise<InvitationRow[]> {
  const rows: InvitationRow[] = [];
  for (const chunk of chunked(ids)) rows.push(...((await trx<InvitationRow>('invitations').whereIn('id', chunk)) as InvitationRow[]));
  return rows;
}

/**
 * The invitations of one approval request, in the order they were asked for. An invitation held
 * before requests were kept is a request of its own, named by its id.
 */
export async function requestRows(db: Db | Trx, requestId: string): Promise<InvitationRow[]> {
  if (!isIdOf('request', requestId) && !isIdOf('invite', requestId)) throw new NotFound('approval request', String(requestId).slice(0, 60));
  const rows = (await ofRequest(db, requestId).orderBy([{ column: 'created_at' }, { column: 'id' }])) as InvitationRow[];
  if (rows.length === 0) throw new NotFound('approval request', requestId);
  return rows;
}

/** Whether any invitation of an approval request still waits for a decision (read in the caller's transaction). */
export async function requestWaits(db: Db | Trx, requestId: string): Promise<boolean> {
  return (await ofRequest(db, requestId).where({ status: 'awaiting' }).first('id')) !== undefined;
}

function ofRequest(db: Db | Trx, requestId: string) {
  return db<InvitationRow>('invitations').where((request) =>
    request.where('approval_request_id', requestId).orWhere((own) => own.where('id', requestId).whereNull('approval_request_id')),
  );
}
/** An approval request's id: `request_` and a ULID. */
export const APPROVAL_REQUEST_ID = /^request_[0-9A-Z]{26}$/;

/** A file import is one inviting action: its batches' held addresses share the request named after it. */
export function importRequestId(importId: string): string {
  return `request_${importId.slice(importId.indexOf('_') + 1)}`;
}

/**
 * Whether `actor` is the person who asked for this invitation (the two-person rule). A member and
 * the Slack user linked to them are one person, whichever of the two asked and whenever the link
 * was made.
 */
export async function isRequester(trx: Trx, row: Pick<InvitationRow, 'invited_by_member_id' | 'invited_by_slack_user_id'>, actor: Actor): Promise<boolean> {
  if (actor.type === 'system') return false;
  if (actor.type === 'slack' && row.invited_by_slack_user_id === actor.slackUserId) return true;
  const memberId = actor.memberId;
  if (memberId && row.invited_by_member_id === memberId) return true;
  // The other identity, through the link: the asking member's Slack user, or the deciding member's.
  if (actor.type === 'slack' && row.invited_by_member_id) return (await memberSlackUser(trx, row.invited_by_member_id)) === actor.slackUserId;
  if (memberId && row.invited_by_slack_user_id) return (await memberSlackUser(trx, memberId)) === row.invited_by_slack_user_id;
  return false;
}

/**
 * The Slack user a member is, for the two-person rule: their link, or — deactivated, the link
 * released (the same person may be back under another account) — the one they held last, from the
 * audit row that released it. `at`: the link they held at that moment instead (a change in the same
 * millisecond counts as before): the one the first change after it replaced, else the link now.
 */
export async function memberSlackUser(trx: Trx, id: string, at?: number): Promise<string | null> {
  const member = (await trx('members').where({ id }).first('slack_user_id', 'state')) as { slack_user_id: string | null; state: string } | undefined;
  if (at === undefined && (member?.slack_user_id || member?.state !== 'deactivated')) return member?.slack_user_id ?? null;
  const changes = trx('audit_log').where({ subject_type: 'member', subject_id: id });
  const rows = (at === undefined
    ? await changes.whereIn('action', ['deactivate', 'slack_unlink']).orderBy('id', 'desc').select('action', 'details')
    : await changes.whereIn('action', ['deactivate', 'slack_unlink', 'slack_link']).andWhere('at', '>', at).orderBy('id').limit(1).select('action', 'details')) as Array<{ action: string; details: string | null }>;
  for (const change of rows) {
    const details = change.details ? (JSON.parse(change.details) as { slackUserId?: string | null; previous?: string | null }) : {};
    const held = change.action === 'deactivate' ? details.slackUserId : details.previous;
    if (at !== undefined) return held ?? null;
    if (held) return held;
  }
  return at === undefined ? null : (member?.slack_user_id ?? null);
}
