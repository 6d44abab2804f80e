import { tokenHash } from './tokens.js';
import { recordAudit } from '../audit/audit.js';
import { inTransaction, isPostgres, isUniqueViolation, serializeOn, type Trx } from '../db/index.js';
import { askApprovers, heldColumns, heldRenewalColumns, INVITE_LOCK, requestApprovals } from './approvals.js';
import { approvalReasons } from './policy.js';
import type { Role } from '../members/roles.js';
import { requireRole } from '../members/service.js';
import { enqueue } from '../outbox/outbox.js';
import { actorRef, type Actor } from '../shared/actor.js';
import { nextPlaceAt } from './daily-limit.js';
import { AlreadyMember, AwaitingApproval, DailyLimitReached, DomainError, InvalidInput, SentAgainSinceShown } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { invitationRow, requireInvitationId, requireNotMember, requireState, type InvitesContext } from './context.js';
import { checkedChoices, type InviteChoices, type StoredChoices } from './choices.js';
import { parseEmailList } from './email-list.js';
import { inviteMany, inviterColumns } from './invite-many.js';
import { inviteNewInOneStatement, resendInOneStatement, revokeInOneStatement } from './one-statement.js';
import { invitationsByIds } from './list.js';
import { shownStatus, toInvitation, type Invitation, type InvitationRow } from './model.js';
import { cancelWaitingEmails, INVITE_EMAIL, inviteEmail, newLinkColumns, payloadNonceSql, replaceLinks } from './sending.js';
import { invitationEvent } from '../events/events.js';

/**
 * PostgreSQL's one-statement paths (one-statement.ts) queue no events: with a webhook endpoint
 * configured, changes take the transaction path, which does.
 */
function oneStatement(ctx: InvitesContext): boolean {
  return isPostgres(ctx.db) && ctx.events.quiet(ctx.clock.now());
}

/**
 * Changes one invitation in a transaction that starts by locking it, then wakes the workers for
 * what it queued (an email, an event, a Slack message). `opens`: it may make the invitation open
 * again (a new link) or hold it for approval, so it takes the inviting lock first, in the order
 * every such transaction takes them.
 */
async function change(ctx: InvitesContext, id: string, apply: (trx: Trx, row: InvitationRow, now: number) => Promise<InvitationRow>, opens = false): Promise<Invitation> {
  const result = await inTransaction(ctx.db, async (trx) => {
    if (opens) await serializeOn(trx, INVITE_LOCK);
    const row = await invitationRow(trx, id, true);
    const now = ctx.clock.now();
    return toInvitation(await apply(trx, row, now), now);
  });
  ctx.onQueued();
  return result;
}

/**
 * Resend: the same link emailed again, the expiry pushed to now + TTL. Pending only — unless
 * `orRenew` (Medusa's resend), when an expired one gets a new invitation instead.
 */
export async function resend(ctx: InvitesContext, id: string, actor: Actor, options: { orRenew?: boolean; choices?: Partial<StoredChoices> } = {}): Promise<Invitation> {
  requireInvitationId(id);
  const resent = oneStatement(ctx) && !options.choices ? await resendInOneStatement(ctx, id, actor) : undefined;
  if (resent) {
    ctx.onQueued();
    return toInvitation(resent, ctx.clock.now());
  }
  return change(ctx, id, async (trx, row, now) => {
    if (options.orRenew && shownStatus(row, now) === 'expired') return renewRow(ctx, trx, row, now, actor);
    return resendLink(ctx, trx, row, now, actor, options.choices);
  }, options.orRenew === true);
}

/** The same link emailed again, in the transaction that locked the invitation (see resend). */
async function resendLink(ctx: InvitesContext, trx: Trx, row: InvitationRow, now: number, actor: Actor, given?: Partial<StoredChoices>): Promise<InvitationRow> {
  requireState(row, now, ['pending']);
  await requireNotMember(trx, row.email);
  // The expiry moves past the sweep's marks, so a reminder before the new expiry is due again.
  // Choices given with the resend (the admin API's re-POST) replace the stored ones.
  const choices = { ttl_ms: row.ttl_ms, message: row.message, ...given };
  const update = { ...choices, expires_at: now + (choices.ttl_ms === null ? ctx.inviteTtlMs : Number(choices.ttl_ms)), last_sent_at: now, send_count: Number(row.send_count) + 1, updated_at: now, delivery_state: 'queued' as const, delivery_error: null };
  await trx('invitations').where({ id: row.id }).update(update);
  // An email of this link still waiting (SMTP down, a MAIL_RATE queue) is tried again now instead
  // of being joined by another: however often Resend is clicked meanwhile, the invitee gets one.
  // One a worker holds counts too (it may be next in a batch behind a slow server); should that try
  // fail, its retry keeps the backoff.
  const waiting = await trx('outbox')
    .where({ invitation_id: row.id, state: 'pending', kind: INVITE_EMAIL })
    .whereRaw(`${payloadNonceSql(trx)} = ?`, [row.token_nonce])
    .update({ next_attempt_at: now });
  if (!waiting) await enqueue(trx, now, [inviteEmail(row.id, row.token_nonce, 'resend')]);
  await recordAudit(trx, now, actor, [{ action: 'resend', subjectType: 'invitation', subjectId: row.id, details: { email: row.email } }]);
  await ctx.events.queueEvents(trx, now, [invitationEvent('invite.resent', { ...row, ...update }, actor)]);
  return { ...row, ...update };
}

/**
 * Send new invitation: an expired invitation gets a new token (the old link stays dead), a new
 * expiry, an email. One the rule "Policy" holds (as inviting the address again would) waits for
 * approval instead, asked by whoever sent it anew.
 */
export function renew(ctx: InvitesContext, id: string, actor: Actor, approvalRequestId?: string): Promise<Invitation> {
  return change(ctx, id, async (trx, row, now) => {
    requireState(row, now, ['expired']);
    return renewRow(ctx, trx, row, now, actor, approvalRequestId);
  }, true);
}

async function renewRow(ctx: InvitesContext, trx: Trx, row: InvitationRow, now: number, actor: Actor, approvalRequestId?: string): Promise<InvitationRow> {
  await requireNotMember(trx, row.email);
  const token = ctx.links.issue();
  await replaceLinks(trx, [row], now);
  const reasons = approvalReasons(ctx.policy, actor, row.email, row.role);
  if (reasons.length) {
    const held = { ...inviterColumns({ actor }), ...heldRenewalColumns(row, token, reasons, now, ctx.inviteTtlMs) };
    await trx('invitations').where({ id: row.id }).update(held);
    await askApprovers(ctx, trx, now, await requestApprovals(ctx, trx, now, actor, [], [row.id], approvalRequestId));
    return { ...row, ...held };
  }
  const update = newLinkColumns(row, token, now, row.ttl_ms === null ? ctx.inviteTtlMs : Number(row.ttl_ms));
  await trx('invitations').where({ id: row.id }).update(update);
  await enqueue(trx, now, [inviteEmail(row.id, token.nonce, 'renew')]);
  await recordAudit(trx, now, actor, [{ action: 'renew', subjectType: 'invitation', subjectId: row.id, details: { email: row.email } }]);
  await ctx.events.queueEvents(trx, now, [invitationEvent('invite.renewed', { ...row, ...update }, actor)]);
  return { ...row, ...update };
}

/** Send new invitation for each of these that is still expired (some may wait for approval); the others are left as they are. */
export async function renewAll(ctx: InvitesContext, ids: readonly string[], actor: Actor): Promise<{ sent: Invitation[]; skipped: number }> {
  const sent: Invitation[] = [];
  // Those the rule "Policy" holds are one approval request, as a list would be.
  const approvalRequestId = newId('request');
  for (const invitation of await invitationsByIds(ctx, ids)) {
    if (invitation.status !== 'expired') continue;
    try {
      sent.push(await renew(ctx, invitation.id, actor, approvalRequestId));
    } catch (error) {
      // Changed meanwhile (renewed, revoked, accepted by someone else's click): not ours to send.
      if (!(error instanceof DomainError)) throw error;
    }
  }
  return { sent, skipped: ids.length - sent.length };
}

/**
 * Revoke: pending, expired or awaiting approval; the link stops working at once and its queued
 * email is dropped. A request withdrawn while it waited for approval closes like a decision: its
 * copies say so (in the transaction, hence not the one statement when someone is told).
 * `unlessSentAfter` (the sending a row on screen showed): an invitation sent again since then and
 * open is refused (SentAgainSinceShown), decided under the row's lock so a sending cannot slip in between.
 */
export async function revoke(ctx: InvitesContext, id: string, actor: Actor, options: { unlessSentAfter?: number } = {}): Promise<Invitation> {
  requireInvitationId(id);
  const asShown = options.unlessSentAfter;
  const revoked = oneStatement(ctx) && !ctx.onApprovalDecided && asShown === undefined ? await revokeInOneStatement(ctx, id, actor) : undefined;
  if (revoked) return toInvitation(revoked, ctx.clock.now());
  return change(ctx, id, async (trx, row, now) => {
    requireState(row, now, ['pending', 'expired', 'awaiting_approval']);
    const status = shownStatus(row, now);
    if (asShown !== undefined && Number(row.last_sent_at) > asShown && status !== 'expired') throw new SentAgainSinceShown(id, row.email, status === 'awaiting_approval' ? status : 'pending');
    const update = { status: 'revoked' as const, revoked_at: now, revoked_by: actorRef(actor), updated_at: now };
    await trx('invitations').where({ id }).whereIn('status', ['pending', 'awaiting']).update(update);
    await cancelWaitingEmails(trx, [id], now, 'revoked');
    await recordAudit(trx, now, actor, [{ action: 'revoke', subjectType: 'invitation', subjectId: id, details: { email: row.email } }]);
    if (row.status === 'awaiting') await ctx.onApprovalDecided?.(trx, now, [toInvitation({ ...row, ...update }, now)]);
    await ctx.events.queueEvents(trx, now, [invitationEvent('invite.revoked', { ...row, ...update }, actor)]);
    return { ...row, ...update };
  });
}

/**
 * An address made a member directly (`doorman user create`) has no use for its open invitation: its
 * link could only answer "already a member", and its expiry would be announced with a Send new
 * invitation button. A pending or expired one is revoked; one awaiting approval is left to the
 * approvers (their messages are redrawn by a decision, which the caller may lack the Slack settings for).
 */
export async function closeForNewMember(ctx: InvitesContext, email: string, actor: Actor): Promise<{ revoked: Invitation[]; held: Invitation[] }> {
  const now = ctx.clock.now();
  const open = ((await ctx.db<InvitationRow>('invitations').where({ email }).whereIn('status', ['pending', 'awaiting'])) as InvitationRow[]).map((row) => toInvitation(row, now));
  const revoked: Invitation[] = [];
  for (const invitation of open.filter((i) => i.status !== 'awaiting_approval')) {
    try {
      revoked.push(await revoke(ctx, invitation.id, actor));
    } catch (error) {
      // Accepted or revoked meanwhile: nothing left to close.
      if (!(error instanceof DomainError)) throw error;
    }
  }
  return { revoked, held: open.filter((i) => i.status === 'awaiting_approval') };
}

/** Copy link: the current link of a live pending invitation. */
export async function copyLink(ctx: InvitesContext, id: string): Promise<{ invitation: Invitation; link: string }> {
  const row = await invitationRow(ctx.db, id);
  const now = ctx.clock.now();
  requireState(row, now, ['pending']);
  // Only the APP_SECRET that made the token derives it again: another one (a CLI run without the
  // service's environment) would hand out a link that opens nothing.
  if (tokenHash(ctx.links.tokenFor(row.token_nonce)) !== row.token_hash) throw new Error('APP_SECRET is not the one this invitation\'s link was made with, so the link would not work; use the service\'s APP_SECRET (its env file, or DATA_DIR/app-secret)');
  return { invitation: toInvitation(row, now), link: ctx.links.linkFor(row) };
}

/**
 * The role a pending invitation will give. Raised to one the rule "Policy" holds (admin), the
 * invitation is held for approval again: its link stops working until someone else approves;
 * `choices` given with the change (the admin API's re-POST) are held with it.
 */
export async function setInvitationRole(ctx: InvitesContext, id: string, role: Role, actor: Actor): Promise<Invitation> {
  requireRole(role);
  return change(ctx, id, (trx, row, now) => changeRole(ctx, trx, row, now, role, actor, {}), true);
}

/** The role change of setInvitationRole, in the transaction that locked the invitation. */
async function changeRole(ctx: InvitesContext, trx: Trx, row: InvitationRow, now: number, role: Role, actor: Actor, choices: Partial<StoredChoices>): Promise<InvitationRow> {
  const id = row.id;
  requireState(row, now, ['pending']);
  if (row.role === role) return row;
  // Only a raise to admin holds it again (the rule "Policy"): its address was let through when
  // it was invited (or approved), and another role changes nothing about that.
  const reasons = role === 'admin' ? approvalReasons(ctx.policy, actor, row.email, role) : [];
  if (reasons.length) {
    const held = { role, ...choices, ...inviterColumns({ actor }), ...heldColumns(reasons, now, ctx.inviteTtlMs) };
    await trx('invitations').where({ id, status: 'pending' }).update(held);
    await cancelWaitingEmails(trx, [id], now, 'held for approval');
    await recordAudit(trx, now, actor, [{ action: 'role_change', subjectType: 'invitation', subjectId: id, details: { from: row.role, to: role } }]);
    await askApprovers(ctx, trx, now, await requestApprovals(ctx, trx, now, actor, [], [id]));
    return { ...row, ...held };
  }
  await trx('invitations').where({ id }).update({ role, updated_at: now });
  await recordAudit(trx, now, actor, [{ action: 'role_change', subjectType: 'invitation', subjectId: id, details: { from: row.role, to: role } }]);
  return { ...row, role, updated_at: now };
}

/**
 * One address, as Medusa's create does it: a new invitation; an expired one sent anew with a new
 * link; a live one given the requested role and resent with the same link. An active member is refused.
 */
export async function inviteOne(ctx: InvitesContext, input: { email: string; role: Role; actor: Actor; inviterName?: string | null } & InviteChoices): Promise<{ outcome: 'sent' | 'renewed' | 'resent' | 'awaiting_approval'; invitation: Invitation }> {
  const parsed = parseEmailList(typeof input.email === 'string' ? input.email : '');
  if (parsed.emails.length !== 1 || parsed.invalid.length > 0) {
    const reason = parsed.invalid[0] ? `${parsed.invalid[0].entry}: ${parsed.invalid[0].reason}` : 'Give exactly one email address.';
    throw new InvalidInput(reason, 'user');
  }
  const email = parsed.emails[0]!;
  const role = requireRole(input.role);
  // The one statement does not hold for approval (the list path does) and stores nothing over the daily limit.
  const plain = approvalReasons(ctx.policy, input.actor, email, role).length === 0;
  if (plain && oneStatement(ctx)) {
    const created = await inviteNewInOneStatement(ctx, { email, role, actor: input.actor, inviter: inviterColumns(input), choices: checkedChoices(input) }).catch((error: unknown) => {
      // Held for approval already (the other open-invitation index): the list path says so.
      if (isUniqueViolation(error)) return undefined;
      throw error;
    });
    if (created) {
      ctx.onQueued();
      return { outcome: 'sent', invitation: toInvitation(created, ctx.clock.now()) };
    }
  }
  // Already a member, invited already, held or over the limit: the list path says which.
  const summary = await inviteMany(ctx, { emails: parsed.emails, role, actor: input.actor, inviterName: input.inviterName, expiresInDays: input.expiresInDays, message: input.message });
  if (summary.alreadyMember.length) throw new AlreadyMember(parsed.emails[0]!);
  if (summary.overLimit?.length) {
    const now = ctx.clock.now();
    const at = await nextPlaceAt(ctx.db, ctx.policy, input.actor, now);
    throw new DailyLimitReached(ctx.policy.dailyLimit, at === undefined ? undefined : at - now);
  }
  const held = summary.awaitingApproval?.[0];
  if (held) return { outcome: 'awaiting_approval', invitation: toInvitation(await invitationRow(ctx.db, held.invitationId), ctx.clock.now()) };
  // A request already waiting for approval stays as it is: only an approver can move it. Asked
  // again as it is, that is the answer; asked with another role, expiry or message, it is refused
  // rather than answered OK with the change dropped.
  const waiting = summary.alreadyAwaiting?.[0];
  if (waiting) {
    const row = await invitationRow(ctx.db, waiting.invitationId);
    const checked = checkedChoices(input);
    const differs = role !== row.role || (input.expiresInDays !== undefined && checked.ttl_ms !== row.ttl_ms) || (input.message !== undefined && checked.message !== row.message);
    if (differs) throw new AwaitingApproval(row.id);
    return { outcome: 'awaiting_approval', invitation: toInvitation(row, ctx.clock.now()) };
  }
  const live = summary.alreadyInvited[0];
  if (live) {
    // The expiry and message asked for now apply to the resent (or held) link; those not given stay as they were.
    const checked = checkedChoices(input);
    const given = { ...(input.expiresInDays !== undefined ? { ttl_ms: checked.ttl_ms } : {}), ...(input.message !== undefined ? { message: checked.message } : {}) };
    // The role change and the resend in one transaction: neither happens without the other.
    const changed = await change(ctx, live.invitationId, async (trx, row, now) => {
      const updated = await changeRole(ctx, trx, row, now, role, input.actor, given);
      return updated.status === 'awaiting' ? updated : resendLink(ctx, trx, updated, now, input.actor, given);
    }, true);
    return { outcome: changed.status === 'awaiting_approval' ? 'awaiting_approval' : 'resent', invitation: changed };
  }
  const id = summary.invitationIds[0]!;
  return { outcome: summary.renewed.length ? 'renewed' : 'sent', invitation: toInvitation(await invitationRow(ctx.db, id), ctx.clock.now()) };
}
