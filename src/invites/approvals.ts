import { recordAudit } from '../audit/audit.js';
import { bulkInsert, type ColumnTypes } from '../db/bulk-insert.js';
import { inTransaction, serializeOn, type Trx } from '../db/index.js';
import { invitationEvent } from '../events/events.js';
import { enqueue } from '../outbox/outbox.js';
import { actorRef, storedName, type Actor } from '../shared/actor.js';
import { AlreadyDecided, ApprovalLapsed, InvalidInput, NotAwaitingApproval, NotPermitted, OwnRequest } from '../shared/errors.js';
import { invitationRow, memberMayNow, requireNotMember, requireState, type InvitesContext } from './context.js';
import { toInvitation, type Decision, type Invitation, type InvitationRow } from './model.js';
import { encodeReasons, isOperatorOrBootstrap, type ApprovalReason } from './policy.js';
import { inviteEmail, keepReplacedLinks } from './sending.js';

/**
 * The approval transitions of the rule "Policy", all in one place: a request (an invitation stored
 * as `awaiting`, shown as Awaiting approval; nothing emailed), its approval (the email queued in the same
 * transaction, the link's expiry starting then), its denial, and its lapse when nobody decided
 * within INVITE_TTL. Each records its audit row and calls the hooks wired in app.ts (Slack
 * messages, the requester's DM) inside its transaction, so nothing is told that did not happen.
 * Each transition queues its webhook events in its own transaction.
 */

/** Advisory lock id of every transaction that creates open invitations (shared with invite-many). */
export const INVITE_LOCK = 0x646f6f72;
export const MAX_DENY_REASON = 500;

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
 * Request: stores new held invitations and records the requests (already-stored ones, moved to
 * held by the caller, are named in `movedIds`). Inside the inviting transaction.
 */
export async function requestApprovals(ctx: InvitesContext, trx: Trx, now: number, actor: Actor, fresh: HeldInvitationRow[], movedIds: string[]): Promise<void> {
  await bulkInsert(trx, 'invitations', HELD_INVITATION_COLUMNS, fresh);
  const ids = [...fresh.map((r) => r.id), ...movedIds];
  if (ids.length === 0) return;
  const found = new Map(((await trx<InvitationRow>('invitations').whereIn('id', ids)) as InvitationRow[]).map((row) => [row.id, row]));
  // In the list's order, so requests, audit rows and events read as the list did.
  const rows = ids.flatMap((id) => found.get(id) ?? []);
  const held = rows.map((row) => toInvitation(row, now));
  await recordAudit(trx, now, actor, held.map((i) => ({ action: 'approval_request', subjectType: 'invitation', subjectId: i.id, details: { email: i.email, role: i.role, reasons: i.approval?.reasons ?? [] } })));
  await ctx.onApprovalRequested?.(trx, now, held);
  await ctx.events.queueEvents(trx, now, rows.map((row) => invitationEvent('invite.approval_requested', row, actor, { reason: row.approval_reasons ?? '' })));
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
 * audit row that released it.
 */
export async function memberSlackUser(trx: Trx, id: string): Promise<string | null> {
  const member = (await trx('members').where({ id }).first('slack_user_id', 'state')) as { slack_user_id: string | null; state: string } | undefined;
  if (member?.slack_user_id || member?.state !== 'deactivated') return member?.slack_user_id ?? null;
  const releases = (await trx('audit_log').where({ subject_type: 'member', subject_id: id }).whereIn('action', ['deactivate', 'slack_unlink']).orderBy('id', 'desc').select('action', 'details')) as Array<{ action: string; details: string | null }>;
  for (const release of releases) {
    const details = release.details ? (JSON.parse(release.details) as { slackUserId?: string | null; previous?: string | null }) : {};
    const held = release.action === 'deactivate' ? details.slackUserId : details.previous;
    if (held) return held;
  }
  return null;
}

/** Refuses a decision the invitation cannot take now, naming why (who decided first, a lapse, the two-person rule). */
async function requireDecidable(trx: Trx, row: InvitationRow, actor: Actor, now: number): Promise<void> {
  if (row.decision) throw new AlreadyDecided(row.id, row.decision, row.decided_by, row.decided_by_name);
  if (row.status !== 'awaiting') {
    // Revoked or accepted say so; a live or expired invitation was simply never held.
    if (row.status !== 'pending') requireState(row, now, []);
    throw new NotAwaitingApproval(row.id);
  }
  if (Number(row.expires_at) <= now) throw new ApprovalLapsed(row.id);
  if (await isRequester(trx, row, actor)) throw new OwnRequest(row.id);
}

/**
 * The decider may still approve, read under the decision's transaction: a member demoted or
 * deactivated a moment ago is refused even while a Slack identity kept for a minute still lets
 * them in. The operator and a bootstrap admin may, whatever the database holds.
 */
async function requireMayStillDecide(ctx: InvitesContext, trx: Trx, actor: Actor): Promise<void> {
  if (isOperatorOrBootstrap(ctx.policy, actor)) return;
  if ((await memberMayNow(trx, actor, 'invite:approve')) === false) throw new NotPermitted('invite:approve');
}

/** After a conditional update changed nothing: someone else decided (or revoked) in between. */
async function lostTheRace(trx: Trx, id: string, actor: Actor, now: number): Promise<never> {
  const row = await invitationRow(trx, id);
  await requireDecidable(trx, row, actor, now);
  throw new NotAwaitingApproval(id);
}

function decidedColumns(actor: Actor, decision: Decision, now: number) {
  const name = storedName(actor.type === 'system' ? `the operator${actor.name ? ` (${actor.name})` : ''}` : actor.name);
  return { decided_at: now, decided_by: actorRef(actor), decided_by_name: name, decision, updated_at: now };
}

/**
 * Approve: the held invitation becomes pending with a new link whose expiry starts now, and its
 * email is queued in the same transaction. One decision wins: the update only applies while the
 * invitation still waits, and a loser is told who decided.
 */
export async function approve(ctx: InvitesContext, id: string, actor: Actor): Promise<Invitation> {
  const invitation = await inTransaction(ctx.db, async (trx) => {
    // Taken by every transaction that makes invitations open, so an approval never waits on one that holds the tallies in the other order.
    await serializeOn(trx, INVITE_LOCK);
    const now = ctx.clock.now();
    const row = await invitationRow(trx, id);
    await requireDecidable(trx, row, actor, now);
    await requireMayStillDecide(ctx, trx, actor);
    await requireNotMember(trx, row.email);
    const token = ctx.links.issue();
    const ttlMs = row.ttl_ms === null ? ctx.inviteTtlMs : Number(row.ttl_ms);
    const update = {
      status: 'pending' as const,
      token_hash: token.hash,
      token_nonce: token.nonce,
      expires_at: now + ttlMs,
      last_sent_at: now,
      send_count: 1,
      delivery_state: 'queued' as const,
      delivery_error: null,
      ...decidedColumns(actor, 'approved', now),
    };
    const changed = await trx('invitations').where({ id, status: 'awaiting' }).andWhere('expires_at', '>', now).update(update);
    if (changed !== 1) return lostTheRace(trx, id, actor, now);
    // A live link raised to admin was held with the link already emailed: that email now reads "replaced".
    await keepReplacedLinks(trx, [row], now);
    await enqueue(trx, now, [inviteEmail(id, token.nonce, 'invite')]);
    await recordAudit(trx, now, actor, [{ action: 'approve', subjectType: 'invitation', subjectId: id, details: { email: row.email, role: row.role } }]);
    const approved = toInvitation({ ...row, ...update }, now);
    await ctx.onApprovalDecided?.(trx, now, approved);
    await ctx.events.queueEvents(trx, now, [invitationEvent('invite.approved', { ...row, ...update }, actor)]);
    return approved;
  });
  ctx.onQueued();
  return invitation;
}

/** Deny: the held invitation is closed (shown as Revoked) with the approver's reason; nothing is sent. */
export async function deny(ctx: InvitesContext, id: string, actor: Actor, reason: string): Promise<Invitation> {
  const why = typeof reason === 'string' ? reason.replace(/\u0000/g, '').trim() : '';
  if (!why) throw new InvalidInput('Give a reason for the denial; the requester reads it.', 'reason');
  if (why.length > MAX_DENY_REASON) throw new InvalidInput(`The reason is too long (at most ${MAX_DENY_REASON} characters).`, 'reason');
  const invitation = await inTransaction(ctx.db, async (trx) => {
    const now = ctx.clock.now();
    const row = await invitationRow(trx, id);
    await requireDecidable(trx, row, actor, now);
    await requireMayStillDecide(ctx, trx, actor);
    const update = { status: 'revoked' as const, revoked_at: now, revoked_by: actorRef(actor), deny_reason: why, ...decidedColumns(actor, 'denied', now) };
    const changed = await trx('invitations').where({ id, status: 'awaiting' }).andWhere('expires_at', '>', now).update(update);
    if (changed !== 1) return lostTheRace(trx, id, actor, now);
    await recordAudit(trx, now, actor, [{ action: 'deny', subjectType: 'invitation', subjectId: id, details: { email: row.email, role: row.role, reason: why } }]);
    const denied = toInvitation({ ...row, ...update }, now);
    await ctx.onApprovalDecided?.(trx, now, denied);
    await ctx.events.queueEvents(trx, now, [invitationEvent('invite.denied', { ...row, ...update }, actor, { reason: why })]);
    return denied;
  });
  ctx.onQueued();
  return invitation;
}

/**
 * Lapse: requests nobody decided within INVITE_TTL are closed (shown as Revoked) and their
 * requesters told. Each is closed by one conditional update, so with several instances sweeping
 * each lapse is recorded (and told) once. All that are due lapse, `batch` to a transaction.
 * Answers how many lapsed.
 */
export async function lapseDueRequests(ctx: InvitesContext, batch = 500): Promise<number> {
  const now = ctx.clock.now();
  let lapsed = 0;
  for (;;) {
    const done = await lapseBatch(ctx, now, batch);
    lapsed += done.lapsed;
    if (done.found < batch) break;
  }
  if (lapsed) ctx.onQueued();
  return lapsed;
}

async function lapseBatch(ctx: InvitesContext, now: number, batch: number): Promise<{ found: number; lapsed: number }> {
  const due = (await ctx.db('invitations').where({ status: 'awaiting' }).andWhere('expires_at', '<=', now).orderBy('expires_at').limit(batch).select('id')) as Array<{ id: string }>;
  if (due.length === 0) return { found: 0, lapsed: 0 };
  const lapsed = await inTransaction(ctx.db, async (trx) => {
    let count = 0;
    for (const { id } of due) {
      // Nobody decided: no name to show.
      const update = { status: 'revoked' as const, revoked_at: now, revoked_by: 'system', ...decidedColumns({ type: 'system' }, 'lapsed', now), decided_by_name: null };
      const changed = await trx('invitations').where({ id, status: 'awaiting' }).andWhere('expires_at', '<=', now).update(update);
      if (changed !== 1) continue;
      count++;
      const row = await invitationRow(trx, id);
      await recordAudit(trx, now, { type: 'system' }, [{ action: 'approval_lapse', subjectType: 'invitation', subjectId: id, details: { email: row.email } }]);
      await ctx.onApprovalDecided?.(trx, now, toInvitation(row, now));
      // A lapse has no type of its own: receivers learn that the request closed unapproved, by nobody.
      await ctx.events.queueEvents(trx, now, [invitationEvent('invite.denied', row, null, { reason: 'lapsed: nobody decided within INVITE_TTL' })]);
    }
    return count;
  });
  return { found: due.length, lapsed };
}
