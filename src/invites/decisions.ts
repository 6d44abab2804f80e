import { recordAudit } from '../audit/audit.js';
import { chunked, inTransaction, serializeOn, type Trx } from '../db/index.js';
import { invitationEvent } from '../events/events.js';
import { enqueue, type OutboxMessage } from '../outbox/outbox.js';
import { actorRef, storedName, type Actor } from '../shared/actor.js';
import { AlreadyDecided, ApprovalLapsed, InvalidInput, NotAwaitingApproval, NotPermitted, OwnRequest } from '../shared/errors.js';
import { INVITE_LOCK, isRequester, requestRows } from './approvals.js';
import { invitationRow, memberMayNow, requireNotMember, requireState, noLongerInvitingWords, whyNoLongerInviting, type InvitesContext } from './context.js';
import { toInvitation, type Decision, type Invitation, type InvitationRow } from './model.js';
import { isOperatorOrBootstrap } from './policy.js';
import { inviteEmail, replaceLinks } from './sending.js';

/**
 * The decisions of the rule "Policy": approving or denying one held invitation or a whole approval
 * request (what one inviting action held); the lapse of those nobody decided is in lapses.ts. One decision wins: each invitation changes by a conditional update that applies only
 * while it still waits, and a loser is told who decided. Each decision records its audit rows,
 * calls the hook wired in app.ts (the Slack messages, the requester's DM) and queues its webhook
 * events inside its transaction, so nothing is told that did not happen.
 */

export const MAX_DENY_REASON = 500;

/** What deciding a whole request did. */
export interface RequestDecision {
  /** The invitations this decision approved or denied. */
  decided: Invitation[];
  /** Addresses left waiting because they became members meanwhile (an approval only). */
  members: string[];
}

/**
 * Refuses a decision the invitation cannot take now, naming why (who decided first, a lapse, the
 * two-person rule). `heldUpTo`: when the hold the decider was shown was made; an invitation decided
 * and held anew since (raised to admin, say) is a hold they never saw.
 */
async function requireDecidable(trx: Trx, row: InvitationRow, actor: Actor, now: number, heldUpTo?: number): Promise<void> {
  // Lapsed is one answer whether the sweep has closed the request yet or not.
  if (row.decision === 'lapsed') throw new ApprovalLapsed(row.id);
  if (row.decision) throw new AlreadyDecided(row.id, row.decision, row.decided_by, row.decided_by_name);
  if (row.status !== 'awaiting') {
    // Revoked or accepted say so; a live or expired invitation was simply never held.
    if (row.status !== 'pending') requireState(row, now, []);
    throw new NotAwaitingApproval(row.id);
  }
  if (Number(row.expires_at) <= now) throw new ApprovalLapsed(row.id);
  if (await isRequester(trx, row, actor)) throw new OwnRequest(row.id);
  if (heldUpTo !== undefined && Number(row.updated_at) > heldUpTo) {
    throw new InvalidInput('This invitation was decided and held for approval again since this message was drawn: look again at the message, drawn anew.');
  }
}

/**
 * The request's invitations that still wait for a decision, of those held up to `heldUpTo` when
 * given (what the decider was shown). None: refused with why the last one decided stopped waiting,
 * or that the request grew since it was shown. The two-person rule holds for every one of them.
 */
async function decidableRows(trx: Trx, requestId: string, actor: Actor, now: number, heldUpTo?: number): Promise<InvitationRow[]> {
  const rows = await requestRows(trx, requestId);
  const waiting = rows.filter((row) => row.status === 'awaiting' && !row.decision && Number(row.expires_at) > now);
  const open = heldUpTo === undefined ? waiting : waiting.filter((row) => Number(row.updated_at) <= heldUpTo);
  if (open.length < waiting.length && open.length === 0) throw new InvalidInput('Everything this message showed was decided, and the request has grown since: look again at the message, drawn anew.');
  if (open.length === 0) {
    const last = [...rows].sort((a, b) => Number(b.decided_at ?? b.updated_at) - Number(a.decided_at ?? a.updated_at))[0]!;
    await requireDecidable(trx, last, actor, now);
    throw new NotAwaitingApproval(last.id);
  }
  const asked = new Map<string, (typeof open)[number]>();
  for (const row of open) asked.set(`${row.invited_by_member_id}|${row.invited_by_slack_user_id}`, row);
  for (const row of asked.values()) if (await isRequester(trx, row, actor)) throw new OwnRequest(row.id);
  return open;
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

/**
 * The requester may still invite, read under the decision's transaction. A request outlives neither
 * its requester's deactivation nor their demotion, as a list import does not: approving would send
 * invitations in the name of an account just cut off. It can still be denied, or let lapse.
 */
async function requireRequesterMayStillInvite(ctx: InvitesContext, trx: Trx, rows: readonly InvitationRow[]): Promise<void> {
  const seen = new Set<string>();
  for (const row of rows) {
    const key = `${row.invited_by_member_id}|${row.invited_by_slack_user_id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const why = await whyNoLongerInviting(ctx.policy, trx, row);
    if (!why) continue;
    const who = row.invited_by_name ?? 'The requester';
    throw new InvalidInput(`${who} may no longer invite people (${noLongerInvitingWords(why, 'they')}), so this request can only be denied.`);
  }
}

/** After conditional updates changed nothing: someone else decided (or revoked) in between. */
async function lostTheRace(trx: Trx, id: string, actor: Actor, now: number, heldUpTo?: number): Promise<never> {
  const row = await invitationRow(trx, id);
  await requireDecidable(trx, row, actor, now, heldUpTo);
  throw new NotAwaitingApproval(id);
}

/** The same for a whole request: refused with why its last invitation stopped waiting. */
async function lostTheRequestRace(trx: Trx, requestId: string, actor: Actor, now: number, heldUpTo?: number): Promise<never> {
  await decidableRows(trx, requestId, actor, now, heldUpTo);
  throw new NotAwaitingApproval(requestId);
}

export function decidedColumns(actor: Actor, decision: Decision, now: number) {
  const name = storedName(actor.type === 'system' ? `the operator${actor.name ? ` (${actor.name})` : ''}` : actor.name);
  return { decided_at: now, decided_by: actorRef(actor), decided_by_name: name, decision, updated_at: now };
}

/** The addresses among `emails` that are active members now. */
async function activeMembers(trx: Trx, emails: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const chunk of chunked(emails)) for (const email of (await trx('members').whereIn('email', chunk).where({ state: 'active' }).pluck('email')) as string[]) found.add(email);
  return found;
}

/**
 * Each row that still waits becomes pending with a new link whose expiry starts now, its email
 * queued in the same transaction. Answers those approved; one decided in between is left as it is.
 */
async function approveRows(ctx: InvitesContext, trx: Trx, rows: readonly InvitationRow[], actor: Actor, now: number): Promise<Invitation[]> {
  const before: InvitationRow[] = [];
  const after: InvitationRow[] = [];
  const emails: OutboxMessage[] = [];
  for (const row of byId(rows)) {
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
    // The hold as read: one decided and held again meanwhile is another decision's.
    const changed = await trx('invitations').where({ id: row.id, status: 'awaiting', updated_at: Number(row.updated_at) }).andWhere('expires_at', '>', now).update(update);
    if (changed !== 1) continue;
    before.push(row);
    after.push({ ...row, ...update });
    emails.push(inviteEmail(row.id, token.nonce, 'invite'));
  }
  if (after.length === 0) return [];
  // A live link raised to admin was held with the link already emailed: that email now reads "replaced".
  await replaceLinks(trx, before, now);
  await enqueue(trx, now, emails);
  await recordAudit(trx, now, actor, after.map((row) => ({ action: 'approve', subjectType: 'invitation', subjectId: row.id, details: { email: row.email, role: row.role } })));
  const approved = after.map((row) => toInvitation(row, now));
  await ctx.onApprovalDecided?.(trx, now, approved);
  await ctx.events.queueEvents(trx, now, after.map((row) => invitationEvent('invite.approved', row, actor)));
  return approved;
}

/** Each row that still waits is closed (shown as Revoked) with the approver's reason; nothing is sent. */
async function denyRows(ctx: InvitesContext, trx: Trx, rows: readonly InvitationRow[], actor: Actor, why: string, now: number): Promise<Invitation[]> {
  const after: InvitationRow[] = [];
  for (const row of byId(rows)) {
    const update = { status: 'revoked' as const, revoked_at: now, revoked_by: actorRef(actor), deny_reason: why, ...decidedColumns(actor, 'denied', now) };
    const changed = await trx('invitations').where({ id: row.id, status: 'awaiting', updated_at: Number(row.updated_at) }).andWhere('expires_at', '>', now).update(update);
    if (changed === 1) after.push({ ...row, ...update });
  }
  if (after.length === 0) return [];
  await recordAudit(trx, now, actor, after.map((row) => ({ action: 'deny', subjectType: 'invitation', subjectId: row.id, details: { email: row.email, role: row.role, reason: why } })));
  const denied = after.map((row) => toInvitation(row, now));
  await ctx.onApprovalDecided?.(trx, now, denied);
  await ctx.events.queueEvents(trx, now, after.map((row) => invitationEvent('invite.denied', row, actor, { reason: why })));
  return denied;
}

/** Every decision and the lapse change a request's rows in id order, so two of them on PostgreSQL never wait on each other's rows in turn. */
export function byId<T extends { id: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function denyReason(reason: string): string {
  const why = typeof reason === 'string' ? reason.replace(/\u0000/g, '').trim() : '';
  if (!why) throw new InvalidInput('Give a reason for the denial; the requester reads it.', 'reason');
  if (why.length > MAX_DENY_REASON) throw new InvalidInput(`The reason is too long (at most ${MAX_DENY_REASON} characters).`, 'reason');
  return why;
}

/** Approve one held invitation: its email goes out, and its link's expiry starts now. `heldUpTo`: when the hold shown was made. */
export async function approve(ctx: InvitesContext, id: string, actor: Actor, heldUpTo?: number): Promise<Invitation> {
  const invitation = await inTransaction(ctx.db, async (trx) => {
    // Taken by every transaction that makes invitations open, so an approval never waits on one that holds the tallies in the other order.
    await serializeOn(trx, INVITE_LOCK);
    const now = ctx.clock.now();
    const row = await invitationRow(trx, id);
    await requireDecidable(trx, row, actor, now, heldUpTo);
    await requireMayStillDecide(ctx, trx, actor);
    await requireRequesterMayStillInvite(ctx, trx, [row]);
    await requireNotMember(trx, row.email);
    const [approved] = await approveRows(ctx, trx, [row], actor, now);
    return approved ?? lostTheRace(trx, id, actor, now, heldUpTo);
  });
  ctx.onQueued();
  return invitation;
}

/** Deny one held invitation, with the approver's reason. */
export async function deny(ctx: InvitesContext, id: string, actor: Actor, reason: string, heldUpTo?: number): Promise<Invitation> {
  const why = denyReason(reason);
  const invitation = await inTransaction(ctx.db, async (trx) => {
    const now = ctx.clock.now();
    const row = await invitationRow(trx, id);
    await requireDecidable(trx, row, actor, now, heldUpTo);
    await requireMayStillDecide(ctx, trx, actor);
    const [denied] = await denyRows(ctx, trx, [row], actor, why, now);
    return denied ?? lostTheRace(trx, id, actor, now, heldUpTo);
  });
  ctx.onQueued();
  return invitation;
}

/**
 * Approve every invitation of a request that still waits (held up to `heldUpTo`, when given), in
 * one transaction. An address that became a member meanwhile is left waiting (its link could only
 * fail), and named.
 */
export async function approveRequest(ctx: InvitesContext, requestId: string, actor: Actor, heldUpTo?: number): Promise<RequestDecision> {
  const result = await inTransaction(ctx.db, async (trx) => {
    await serializeOn(trx, INVITE_LOCK);
    const now = ctx.clock.now();
    const waiting = await decidableRows(trx, requestId, actor, now, heldUpTo);
    await requireMayStillDecide(ctx, trx, actor);
    await requireRequesterMayStillInvite(ctx, trx, waiting);
    const members = await activeMembers(trx, waiting.map((row) => row.email));
    const decided = await approveRows(ctx, trx, waiting.filter((row) => !members.has(row.email)), actor, now);
    if (decided.length === 0 && members.size === 0) await lostTheRequestRace(trx, requestId, actor, now, heldUpTo);
    return { decided, members: [...members] };
  });
  if (result.decided.length) ctx.onQueued();
  return result;
}

/** Deny every invitation of a request that still waits (held up to `heldUpTo`, when given), with one reason, in one transaction. */
export async function denyRequest(ctx: InvitesContext, requestId: string, actor: Actor, reason: string, heldUpTo?: number): Promise<RequestDecision> {
  const why = denyReason(reason);
  const decided = await inTransaction(ctx.db, async (trx) => {
    const now = ctx.clock.now();
    const waiting = await decidableRows(trx, requestId, actor, now, heldUpTo);
    await requireMayStillDecide(ctx, trx, actor);
    const denied = await denyRows(ctx, trx, waiting, actor, why, now);
    return denied.length ? denied : lostTheRequestRace(trx, requestId, actor, now, heldUpTo);
  });
  ctx.onQueued();
  return { decided, members: [] };
}
