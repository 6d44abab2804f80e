import { isPostgres, type Db, type Trx } from '../db/index.js';
import { INVITE_EMAIL } from '../invites/sending.js';
import { outcomeColumns, recordOutcome, stillClaimed, whyNotOurs, type RecordedOutcome, type RecordResult } from '../outbox/claims.js';
import type { OutboxRow } from '../outbox/outbox.js';

/** An invitation's delivery state as its email's outcome sets it. */
export interface DeliveryState {
  delivery_state: 'sent' | 'refused' | 'queued' | 'failing';
  delivery_error: string | null;
  /** Set by an email that was not sent: it leaves an invitation already "sent" as it is. */
  unlessSent: boolean;
  /** Set by a wait by design (the pace, a server asking to slow down): it leaves "failing" as it is. */
  unlessFailing?: boolean;
}

/** The delivery state an email's outcome leads to; undefined when it changes nothing. */
export function deliveryStateAfter(outcome: RecordedOutcome): DeliveryState | undefined {
  if (outcome.result === 'done') return { delivery_state: 'sent', delivery_error: null, unlessSent: false };
  if (outcome.result === 'refused') return { delivery_state: 'refused', delivery_error: outcome.reason, unlessSent: false };
  // Waiting by design (the pace, a server asking to slow down): still queued, with why — unless it
  // was failing, which a wait for its turn does not mend (nor announce again when it fails next).
  if (outcome.result === 'failing') {
    return outcome.expected
      ? { delivery_state: 'queued', delivery_error: outcome.error, unlessSent: false, unlessFailing: true }
      : { delivery_state: 'failing', delivery_error: outcome.error, unlessSent: false };
  }
  // Expired before it could be delivered: say so rather than stay "queued" for good.
  if (outcome.reason === 'the invitation is expired') return { delivery_state: 'failing', delivery_error: 'not delivered before the invitation expired', unlessSent: true };
  return undefined;
}

/** Writes a delivery state to the email's invitation, only if this is its newest queued email; answers the rows changed. */
export function updateDeliveryState(db: Db | Trx, item: OutboxRow & { invitation_id: string }, state: DeliveryState) {
  const newest = db('outbox').max('id').where({ invitation_id: item.invitation_id, kind: INVITE_EMAIL });
  const query = db('invitations').where({ id: item.invitation_id }).where(db.raw('?', [item.id]), '=', newest);
  if (state.unlessSent) query.whereNot({ delivery_state: 'sent' });
  if (state.unlessFailing) query.whereNot({ delivery_state: 'failing' });
  return query.update({ delivery_state: state.delivery_state, delivery_error: state.delivery_error });
}

/**
 * Records an email's outcome with its invitation's delivery state, both only while the claim is
 * still this worker's, without a transaction of their own.
 * - PostgreSQL: one statement. It locks the invitation before the email's row, as every writer
 *   does (a revoke), so the two never wait on each other in a circle.
 * - SQLite: two statements, the invitation's first. If the process stops between them, the
 *   email's lease runs out and it is delivered and recorded again.
 */
export async function recordDelivery(db: Db, item: OutboxRow, outcome: RecordedOutcome, now: number): Promise<RecordResult> {
  const state = deliveryStateAfter(outcome);
  if (!state || !item.invitation_id) return recordOutcome(db, item, outcome, now);
  const email = { ...item, invitation_id: item.invitation_id };
  if (!isPostgres(db)) {
    await updateDeliveryState(db, email, state).whereExists(stillClaimed(db, item));
    return recordOutcome(db, item, outcome, now);
  }
  const columns = outcomeColumns(outcome, now, item);
  const { rows } = (await db.raw(
    `WITH invitation AS (
       SELECT id FROM invitations WHERE id = ? FOR NO KEY UPDATE
     ), ours AS (
       UPDATE outbox SET state = COALESCE(?, state), locked_until = NULL, done_at = COALESCE(?, done_at),
         next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?, failures = COALESCE(?, failures)
       WHERE id = ? AND attempts = ? AND state NOT IN ('done', 'cancelled') AND invitation_id IN (SELECT id FROM invitation)
       RETURNING invitation_id
     ), delivery AS (
       UPDATE invitations SET delivery_state = ?, delivery_error = ?
       WHERE id IN (SELECT invitation_id FROM ours)
         AND (SELECT max(id) FROM outbox WHERE invitation_id = ? AND kind = ?) = ?
         AND (NOT ? OR delivery_state <> 'sent')
         AND (NOT ? OR delivery_state <> 'failing')
     )
     SELECT count(*)::int AS recorded FROM ours`,
    [
      item.invitation_id,
      columns.state ?? null, columns.done_at ?? null, columns.next_attempt_at ?? null, columns.last_error, columns.failures ?? null,
      item.id, item.attempts,
      state.delivery_state, state.delivery_error,
      item.invitation_id, INVITE_EMAIL, item.id,
      state.unlessSent,
      state.unlessFailing ?? false,
    ],
  )) as { rows: Array<{ recorded: number }> };
  return rows[0]!.recorded === 1 ? 'recorded' : await whyNotOurs(db, item);
}
