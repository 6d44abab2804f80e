import { bulkInsert, type ColumnTypes } from '../db/bulk-insert.js';
import type { Db, Trx } from '../db/index.js';

/**
 * The outbox: work that must happen after a change (an email, a Slack message) is written in the
 * same transaction as the change, and a worker delivers it later. A crash or an outage delays it;
 * nothing drops it.
 */
export interface OutboxRow {
  id: number;
  kind: string;
  state: 'pending' | 'done' | 'cancelled';
  dedupe_key: string | null;
  invitation_id: string | null;
  /** Whom it goes to, where one receiver's pause puts off all of its items (a webhook endpoint's id). */
  target: string | null;
  payload: string;
  /** Every claim counts here (it also tells one claim from the next). */
  attempts: number;
  /** Tries that failed or were asked to slow down: what the backoff doubles with. */
  failures: number;
  next_attempt_at: number;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
  done_at: number | null;
}

export interface OutboxMessage<P = unknown> {
  kind: string;
  payload: P;
  invitationId?: string;
  /** Two messages with the same key are one message: the second is not queued. */
  dedupeKey?: string;
  /** See OutboxRow.target. */
  target?: string;
  /** Not before this time (default: now). */
  notBefore?: number;
}

export type NewOutboxRow = Pick<OutboxRow, 'kind' | 'state' | 'dedupe_key' | 'invitation_id' | 'target' | 'payload' | 'attempts' | 'next_attempt_at' | 'created_at'>;
export const NEW_OUTBOX_COLUMNS: ColumnTypes<NewOutboxRow> = {
  kind: 'text',
  state: 'text',
  dedupe_key: 'text',
  invitation_id: 'text',
  target: 'text',
  payload: 'text',
  attempts: 'integer',
  next_attempt_at: 'bigint',
  created_at: 'bigint',
};

export async function enqueue(trx: Trx, now: number, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const rows = messages.map((m): NewOutboxRow => ({
    kind: m.kind,
    state: 'pending',
    dedupe_key: m.dedupeKey ?? null,
    invitation_id: m.invitationId ?? null,
    target: m.target ?? null,
    payload: JSON.stringify(m.payload),
    attempts: 0,
    next_attempt_at: m.notBefore ?? now,
    created_at: now,
  }));
  const deduped = rows.some((r) => r.dedupe_key !== null);
  await bulkInsert(trx, 'outbox', NEW_OUTBOX_COLUMNS, rows, deduped ? { ignoreConflictOn: 'dedupe_key' } : {});
}

/** What waits in the outbox for one kind of work: how many items, and since when the oldest. */
export interface OutboxBacklog {
  kind: string;
  pending: number;
  /** created_at of the oldest pending item. */
  oldestCreatedAt: number;
}

/** Pending items grouped by kind, in one statement that reads only pending rows (through the partial index `outbox_due`), however many settled rows the table keeps. */
export async function outboxBacklog(db: Db): Promise<OutboxBacklog[]> {
  const rows = (await db('outbox').where({ state: 'pending' }).groupBy('kind').select('kind').count({ n: '*' }).min({ oldest: 'created_at' })) as Array<{
    kind: string;
    n: number | string;
    oldest: number | string;
  }>;
  return rows.map((row) => ({ kind: row.kind, pending: Number(row.n), oldestCreatedAt: Number(row.oldest) }));
}
