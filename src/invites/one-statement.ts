import type { Role } from '../members/roles.js';
import { auditActorName } from '../audit/audit.js';
import { actorId, actorRef, type Actor } from '../shared/actor.js';
import { newId } from '../shared/ids.js';
import { inTransaction, serializeOn, type Trx } from '../db/index.js';
import { INVITE_LOCK } from './approvals.js';
import type { InvitesContext } from './context.js';
import { createdToday, limitedInviter } from './daily-limit.js';
import type { InvitationRow } from './model.js';
import { INVITE_EMAIL, inviteEmail } from './sending.js';

/**
 * On PostgreSQL a change to one invitation is one statement: data-modifying CTEs write it, its email and its
 * audit row atomically in one round trip. Undefined means it is not in the needed state, and the caller takes
 * the transaction path (lifecycle.ts), which is the only one on SQLite (no data-modifying CTEs).
 */

/**
 * A new pending invitation for an address neither an active member nor invited, within the daily limit of an
 * inviter it counts (the rule "Policy"). That count is exact only under the inviting lock, so a limited
 * inviter's statement runs in a transaction that takes it first, as the list path does.
 */
export async function inviteNewInOneStatement(
  ctx: InvitesContext,
  input: {
    email: string;
    role: Role;
    actor: Actor;
    inviter: { invited_by_member_id: string | null; invited_by_slack_user_id: string | null; invited_by_name: string | null };
    choices: { ttl_ms: number | null; message: string | null };
  },
): Promise<InvitationRow | undefined> {
  const now = ctx.clock.now();
  const token = ctx.links.issue();
  const id = newId('invite');
  const email = inviteEmail(id, token.nonce, 'invite');
  const inviter = limitedInviter(ctx.policy, input.actor);
  const underLimit = inviter ? 'AND (?) < ?' : '';
  const limitBindings = inviter ? [createdToday(ctx.db, inviter, now), ctx.policy.dailyLimit] : [];
  // An address with an open invitation (one being accepted, say) takes the list path: this
  // statement's view of members would miss the member an accept commits while the insert waits on it.
  const run = (db: Trx | InvitesContext['db']) => db.raw(
    `WITH created AS (
       INSERT INTO invitations (id, email, role, status, token_hash, token_nonce, expires_at, invited_by_member_id, invited_by_slack_user_id, invited_by_name, created_at, updated_at, last_sent_at, send_count, delivery_state, ttl_ms, message)
       SELECT ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'queued', ?, ?
       WHERE NOT EXISTS (SELECT 1 FROM members WHERE email = ? AND state = 'active')
         AND NOT EXISTS (SELECT 1 FROM invitations WHERE email = ? AND status IN ('pending', 'awaiting')) ${underLimit}
       ON CONFLICT (email) WHERE status IN ('pending', 'awaiting') DO NOTHING
       RETURNING *
     ), mail AS (
       INSERT INTO outbox (kind, state, invitation_id, payload, attempts, next_attempt_at, created_at)
       SELECT ?, 'pending', id, ?, 0, ?, ? FROM created
     ), audit AS (
       INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, subject_type, subject_id, details)
       SELECT ?, ?, ?, ?, 'invite', 'invitation', id, ? FROM created
     )
     SELECT * FROM created`,
    [
      id, input.email, input.role, token.hash, token.nonce, now + (input.choices.ttl_ms ?? ctx.inviteTtlMs), input.inviter.invited_by_member_id, input.inviter.invited_by_slack_user_id, input.inviter.invited_by_name, now, now, now, input.choices.ttl_ms, input.choices.message,
      input.email, input.email, ...limitBindings,
      INVITE_EMAIL, JSON.stringify(email.payload), now, now,
      now, input.actor.type, actorId(input.actor), auditActorName(input.actor), JSON.stringify({ email: input.email, role: input.role }),
    ],
  );
  const { rows } = (await (inviter
    ? inTransaction(ctx.db, async (trx) => {
        await serializeOn(trx, INVITE_LOCK);
        return run(trx);
      })
    : run(ctx.db))) as { rows: InvitationRow[] };
  return rows[0];
}

/** Resend of a live pending invitation: the same link, the expiry moved to now + TTL. Nothing when it is not live or its address became a member: the transaction path then says why. */
export async function resendInOneStatement(ctx: InvitesContext, id: string, actor: Actor): Promise<InvitationRow | undefined> {
  const now = ctx.clock.now();
  // Only the version of the row this statement sees is changed: one changed while it waited for
  // the row (a second Resend clicked at once) takes the transaction path, whose reads see the email
  // the other queued, where this statement's view of the outbox would not.
  const { rows } = (await ctx.db.raw(
    `WITH seen AS (
       SELECT xmin FROM invitations WHERE id = ?
     ), changed AS (
       UPDATE invitations SET expires_at = ? + COALESCE(ttl_ms, ?), last_sent_at = ?, send_count = send_count + 1, updated_at = ?, delivery_state = 'queued', delivery_error = NULL
       WHERE id = ? AND status = 'pending' AND expires_at > ?
         AND NOT EXISTS (SELECT 1 FROM members m WHERE m.email = invitations.email AND m.state = 'active')
         AND xmin = (SELECT xmin FROM seen)
       RETURNING *
     ), waiting AS (
       UPDATE outbox SET next_attempt_at = ? FROM changed
       WHERE outbox.invitation_id = changed.id AND outbox.kind = ? AND outbox.state = 'pending'
         AND (outbox.payload::json->>'nonce') = changed.token_nonce
       RETURNING outbox.id
     ), mail AS (
       INSERT INTO outbox (kind, state, invitation_id, payload, attempts, next_attempt_at, created_at)
       SELECT ?, 'pending', id, json_build_object('invitationId', id, 'nonce', token_nonce, 'reason', 'resend')::text, 0, ?, ? FROM changed
       WHERE NOT EXISTS (SELECT 1 FROM waiting)
     ), audit AS (
       INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, subject_type, subject_id, details)
       SELECT ?, ?, ?, ?, 'resend', 'invitation', id, json_build_object('email', email)::text FROM changed
     )
     SELECT * FROM changed`,
    [id, now, ctx.inviteTtlMs, now, now, id, now, now, INVITE_EMAIL, INVITE_EMAIL, now, now, now, actor.type, actorId(actor), auditActorName(actor)],
  )) as { rows: InvitationRow[] };
  return rows[0];
}

/** Revoke of a pending, expired or held invitation; its queued email is dropped. */
export async function revokeInOneStatement(ctx: InvitesContext, id: string, actor: Actor): Promise<InvitationRow | undefined> {
  const now = ctx.clock.now();
  const { rows } = (await ctx.db.raw(
    `WITH changed AS (
       UPDATE invitations SET status = 'revoked', revoked_at = ?, revoked_by = ?, updated_at = ?
       WHERE id = ? AND status IN ('pending', 'awaiting')
       RETURNING *
     ), dropped AS (
       UPDATE outbox SET state = 'cancelled', done_at = ?, last_error = 'revoked'
       WHERE invitation_id IN (SELECT id FROM changed) AND state = 'pending' AND kind = ?
     ), audit AS (
       INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, subject_type, subject_id, details)
       SELECT ?, ?, ?, ?, 'revoke', 'invitation', id, json_build_object('email', email)::text FROM changed
     )
     SELECT * FROM changed`,
    [now, actorRef(actor), now, id, now, INVITE_EMAIL, now, actor.type, actorId(actor), auditActorName(actor)],
  )) as { rows: InvitationRow[] };
  return rows[0];
}
