import { recordAudit, type AuditEntry } from '../audit/audit.js';
import { bulkInsert, type ColumnTypes } from '../db/bulk-insert.js';
import { analyzeNow, chunked, inTransaction, isUniqueViolation, serializeOn, type Trx } from '../db/index.js';
import type { Role } from '../members/roles.js';
import { requireRole } from '../members/service.js';
import { enqueue, type OutboxMessage } from '../outbox/outbox.js';
import { memberIdOf, slackUserIdOf, storedName, type Actor } from '../shared/actor.js';
import { describeError, InvalidInput, NotPermitted } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { invitationEvent, type DoormanEvent } from '../events/events.js';
import { whyNoLongerInviting, type InvitesContext } from './context.js';
import { checkedChoices, type InviteChoices } from './choices.js';
import { MAX_LIST_CHARS, parseEmailList } from './email-list.js';
import { inviteEmail, newLinkColumns, replaceLinks } from './sending.js';
import { emptySummary, type Invitation, type InvitationRow, type InviteSummary } from './model.js';
import { standingOf, storedFor } from './standing.js';
import { askApprovers, heldRenewalColumns, INVITE_LOCK, requestApprovals, type HeldInvitationRow } from './approvals.js';
import { remainingToday } from './daily-limit.js';
import { approvalReasons } from './policy.js';
/** Addresses read and written per statement group: few statements, inside SQLite's bound-parameter limit. */
const INVITE_BATCH = 2_000;
/** A list that queues at least this many emails has PostgreSQL count its rows at once (see below). */
export const ANALYZE_AFTER = 10_000;

export interface InviteManyInput extends InviteChoices {
  emails: string | readonly string[];
  role?: Role;
  /** Roles of single addresses (lower-cased, as the list is read), over `role`: a file's role column. */
  roles?: ReadonlyMap<string, Role>;
  actor: Actor;
  inviterMemberId?: string | null;
  inviterName?: string | null;
  /** The approval request the held addresses join: one inviting action made of several calls shares one. */
  approvalRequestId?: string;
  /**
   * The inviter was checked a while before this call (people looked up after Slack's answer): they are
   * checked again in the inviting transaction, refused when deactivated or no longer an admin since.
   */
  recheckInviter?: boolean;
}

export interface InviteManyOptions {
  /** Inside the inviting transaction, with its summary: what must be stored with it or not at all. */
  alsoInTransaction?(trx: Trx, summary: InviteSummary): Promise<void>;
}

export type NewInvitationRow = Pick<
  InvitationRow,
  | 'id' | 'email' | 'role' | 'status' | 'token_hash' | 'token_nonce' | 'expires_at' | 'invited_by_member_id' | 'invited_by_slack_user_id'
  | 'invited_by_name' | 'created_at' | 'updated_at' | 'last_sent_at' | 'send_count' | 'delivery_state' | 'ttl_ms' | 'message'
>;
export const NEW_INVITATION_COLUMNS: ColumnTypes<NewInvitationRow> = {
  id: 'text',
  email: 'text',
  role: 'text',
  status: 'text',
  token_hash: 'text',
  token_nonce: 'text',
  expires_at: 'bigint',
  invited_by_member_id: 'text',
  invited_by_slack_user_id: 'text',
  invited_by_name: 'text',
  created_at: 'bigint',
  updated_at: 'bigint',
  last_sent_at: 'bigint',
  send_count: 'integer',
  delivery_state: 'text',
  ttl_ms: 'bigint',
  message: 'text',
};

/**
 * Invites every address of a pasted list in one transaction (rules "Email lists" and "Skips") and
 * answers with one summary: new invitations, renewed expired ones, and each skipped or invalid
 * entry with why.
 */
export async function inviteMany(ctx: InvitesContext, input: InviteManyInput, options: InviteManyOptions = {}): Promise<InviteSummary> {
  const text = typeof input.emails === 'string' ? input.emails : input.emails.join('\n');
  if (text.length > MAX_LIST_CHARS) throw new InvalidInput(`The list is too long (more than ${MAX_LIST_CHARS.toLocaleString('en')} characters).`, 'emails');
  const role = requireRole(input.role ?? 'member');
  checkedChoices(input);
  const parsed = parseEmailList(text);
  if (parsed.emails.length === 0 && parsed.invalid.length === 0) throw new InvalidInput('No email addresses were given.', 'emails');

  for (let attempt = 1; ; attempt++) {
    try {
      const summary = await inTransaction(ctx.db, async (trx) => {
        if (input.recheckInviter && (await whyNoLongerInviting(ctx.policy, trx, inviterColumns(input)))) throw new NotPermitted('member:manage');
        const stored = { ...(await inviteAll(ctx, trx, parsed.emails, role, input)), invalid: parsed.invalid };
        await options.alsoInTransaction?.(trx, stored);
        return stored;
      });
      if (summary.invitationIds.length >= ANALYZE_AFTER) await analyzeAfterBulkLoad(ctx);
      if (summary.invitationIds.length > 0 || summary.awaitingApproval?.length) ctx.onQueued();
      return summary;
    } catch (error) {
      // Another request invited one of these addresses at the same moment: run again, and it
      // shows up as "already invited".
      if (attempt < 3 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

/**
 * PostgreSQL plans by statistics that autovacuum refreshes only a minute or more after a bulk
 * load; until then it plans as if the tables were empty, badly for the outbox claims and the
 * lists. A large list is counted at once. A failure fails nothing: autovacuum counts later.
 */
async function analyzeAfterBulkLoad(ctx: InvitesContext): Promise<void> {
  try {
    await analyzeNow(ctx.db, ['invitations', 'outbox']);
  } catch (error) {
    ctx.logger?.warn({ error: describeError(error) }, 'could not analyze the invitations and the outbox after a large list; autovacuum will');
  }
}

async function inviteAll(ctx: InvitesContext, trx: Trx, emails: string[], listRole: Role, input: InviteManyInput): Promise<InviteSummary> {
  // Concurrent requests with overlapping lists would otherwise both see "not invited" and one
  // would fail on the one-pending-per-email index; taking turns makes the later one answer
  // "already invited".
  await serializeOn(trx, INVITE_LOCK);
  const now = ctx.clock.now();
  const summary = emptySummary();
  const inviter = inviterColumns(input);
  const choices = checkedChoices(input);
  const ttlMs = choices.ttl_ms ?? ctx.inviteTtlMs;
  const renewedIds: string[] = [];
  // With no webhook endpoint at all, no event is even built.
  const withEvents = !ctx.events.quiet(now);
  // The rule "Policy": new invitations past the inviter's daily limit are reported, not stored.
  let remaining = await remainingToday(trx, ctx.policy, input.actor, now);
  const awaiting: NonNullable<InviteSummary['awaitingApproval']> = [];
  const overLimit: string[] = [];
  const alreadyAwaiting: NonNullable<InviteSummary['alreadyAwaiting']> = [];
  const requestId = input.approvalRequestId ?? newId('request');
  const asked: Invitation[] = [];
  for (const batch of chunked(emails, INVITE_BATCH)) {
    const stored = await storedFor(trx, batch, { lock: true });
    const fresh: NewInvitationRow[] = [];
    const held: HeldInvitationRow[] = [];
    const moved: string[] = [];
    const replaced: Array<{ id: string; token_hash: string }> = [];
    const mail: OutboxMessage[] = [];
    const audit: AuditEntry[] = [];
    const events: DoormanEvent[] = [];
    for (const email of batch) {
      const role = input.roles?.get(email) ?? listRole;
      const standing = standingOf(email, stored, now);
      if (standing.kind === 'member') {
        summary.alreadyMember.push(email);
        continue;
      }
      if (standing.kind === 'invited') {
        summary.alreadyInvited.push({ email, invitationId: standing.invitation.id });
        continue;
      }
      if (standing.kind === 'held') {
        alreadyAwaiting.push({ email, invitationId: standing.invitation.id });
        continue;
      }
      // Expired: the same invitation is renewed below.
      const existing = standing.kind === 'expired' ? standing.invitation : undefined;
      if (!existing && remaining <= 0) {
        overLimit.push(email);
        continue;
      }
      const token = ctx.links.issue();
      if (existing) replaced.push(existing);
      const reasons = approvalReasons(ctx.policy, input.actor, email, role);
      if (reasons.length) {
        // Held for a second person: stored, nothing emailed (the request is recorded below).
        if (existing) {
          await trx('invitations').where({ id: existing.id }).update({ ...inviter, role, ...choices, ...heldRenewalColumns(existing, token, reasons, now, ctx.inviteTtlMs) });
          moved.push(existing.id);
        } else {
          remaining--;
          held.push({ ...newRow(newId('invite'), email, role, token, now, inviter, choices), status: 'awaiting', expires_at: now + ctx.inviteTtlMs, send_count: 0, approval_reasons: reasons.join(',') });
        }
        awaiting.push({ email, invitationId: existing?.id ?? held[held.length - 1]!.id, reasons });
        continue;
      }
      if (existing) {
        // Expired: the same invitation gets a new link (the old one stays dead) and a new expiry.
        await trx('invitations').where({ id: existing.id }).update({ ...inviter, role, ...choices, ...newLinkColumns(existing, token, now, ttlMs) });
        summary.renewed.push(email);
        renewedIds.push(existing.id);
        mail.push(inviteEmail(existing.id, token.nonce, 'renew'));
        audit.push({ action: 'renew', subjectType: 'invitation', subjectId: existing.id, details: { email, role } });
        if (withEvents) events.push(invitationEvent('invite.renewed', { id: existing.id, email, role, status: 'pending', expires_at: now + ttlMs, ...inviter }, input.actor));
        continue;
      }
      const id = newId('invite');
      remaining--;
      fresh.push({ ...newRow(id, email, role, token, now, inviter, choices), expires_at: now + ttlMs });
      summary.sent.push(email);
      summary.invitationIds.push(id);
      mail.push(inviteEmail(id, token.nonce, 'invite'));
      audit.push({ action: 'invite', subjectType: 'invitation', subjectId: id, details: { email, role } });
      if (withEvents) events.push(invitationEvent('invite.created', fresh[fresh.length - 1]!, input.actor));
    }
    await bulkInsert(trx, 'invitations', NEW_INVITATION_COLUMNS, fresh);
    await replaceLinks(trx, replaced, now);
    await enqueue(trx, now, mail);
    await recordAudit(trx, now, input.actor, audit);
    await ctx.events.queueEvents(trx, now, events);
    asked.push(...(await requestApprovals(ctx, trx, now, input.actor, held, moved, requestId)));
  }
  await askApprovers(ctx, trx, now, asked);
  summary.invitationIds.push(...renewedIds);
  if (awaiting.length) summary.awaitingApproval = awaiting;
  if (overLimit.length) summary.overLimit = overLimit;
  if (alreadyAwaiting.length) summary.alreadyAwaiting = alreadyAwaiting;
  return summary;
}

/** A new invitation's columns, pending and sent now (a held one overrides status, expiry and count). */
function newRow(id: string, email: string, role: Role, token: { hash: string; nonce: string }, now: number, inviter: ReturnType<typeof inviterColumns>, choices: ReturnType<typeof checkedChoices>): NewInvitationRow {
  return {
    id,
    email,
    role,
    status: 'pending',
    token_hash: token.hash,
    token_nonce: token.nonce,
    expires_at: now,
    ...inviter,
    created_at: now,
    updated_at: now,
    last_sent_at: now,
    send_count: 1,
    delivery_state: 'queued',
    ...choices,
  };
}

/** Who invited, as the invitation's columns: a person's name, never a system actor's label. */
export function inviterColumns(input: Pick<InviteManyInput, 'actor' | 'inviterMemberId' | 'inviterName'>) {
  const actor = input.actor;
  return {
    invited_by_member_id: input.inviterMemberId ?? memberIdOf(actor),
    invited_by_slack_user_id: slackUserIdOf(actor),
    invited_by_name: storedName(input.inviterName ?? (actor.type === 'system' ? null : actor.name)),
  };
}
