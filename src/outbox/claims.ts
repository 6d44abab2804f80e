import type { Knex } from 'knex';
import { inTransaction, isPostgres, type Db, type Trx } from '../db/index.js';
import type { OutboxRow } from './outbox.js';

/**
 * What a delivery came to. `cancelled`: nothing to send any more (e.g. revoked); `refused`: the receiver
 * said no for good (a mail server's 5xx); `failing`: tried later, `expected` when the wait is by design
 * (pacing, a server asking to slow down), `backedOff` when it is the backoff and counts as a failure.
 */
export type RecordedOutcome =
  | { result: 'done' }
  | { result: 'cancelled'; reason: string }
  // `unsent`: given up without a try (nothing was sent), which is no failed attempt.
  | { result: 'refused'; reason: string; unsent?: true }
  | { result: 'failing'; error: string; retryInMs: number; expected?: boolean; backedOff?: boolean };

/** Outbox rows no worker holds at `now`: never claimed, or their claim's lease ran out. */
export function notClaimed(now: number) {
  return (q: Knex.QueryBuilder) => void q.whereNull('locked_until').orWhere('locked_until', '<', now);
}

/**
 * Claims up to `limit` due items for `leaseMs`, each row won by exactly one claim however many workers ask:
 * PostgreSQL skips rows another claim has locked (`SKIP LOCKED`); SQLite's single writer re-checks in the
 * update that each is still due. `exclude`: items this worker holds, which a lapsed lease must not hand back.
 */
export async function claimDue(db: Db, options: { now: number; kinds: string[]; exclude: readonly number[]; limit: number; leaseMs: number }): Promise<OutboxRow[]> {
  const { now } = options;
  const due = <Q extends ReturnType<Db>>(q: Q): Q =>
    q
      .where({ state: 'pending' })
      .where('next_attempt_at', '<=', now)
      .whereIn('kind', options.kinds)
      .where(notClaimed(now)) as Q;
  const candidates = due(db('outbox'))
    .modify((q) => (options.exclude.length > 0 ? q.whereNotIn('id', options.exclude) : q))
    .orderBy('next_attempt_at')
    .limit(options.limit)
    .select('id');
  const picked = isPostgres(db) ? db('outbox').whereRaw('id = any(array(?))', [candidates.forUpdate().skipLocked()]) : due(db('outbox').whereIn('id', candidates));
  const claimed = (await picked.update({ locked_until: now + options.leaseMs, attempts: db.raw('attempts + 1') }).returning('*')) as OutboxRow[];
  return claimed
    .map((row) => ({ ...row, id: Number(row.id), attempts: Number(row.attempts), failures: Number(row.failures) }))
    .sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at) || a.id - b.id);
}

/**
 * Puts off, in one statement, every waiting item of a kind for one receiver (OutboxRow.target) to
 * `until`, but those a worker holds: while the receiver is paused, claims take the others' items.
 */
export async function putOffTarget(db: Db, options: { kind: string; target: string; until: number; now: number }): Promise<void> {
  await db('outbox')
    .where({ kind: options.kind, target: options.target, state: 'pending' })
    .where('next_attempt_at', '<', options.until)
    .where(notClaimed(options.now))
    .update({ next_attempt_at: options.until });
}

/**
 * Gives back items of one claim that were not attempted (a stopping worker's): due again at once,
 * the claim's attempt not counted; only those still this worker's (see `ourClaim`).
 */
export async function releaseClaims(db: Db, items: readonly OutboxRow[]): Promise<void> {
  if (items.length === 0) return;
  await ourClaims(db('outbox'), items).update({ locked_until: null, attempts: db.raw('attempts - 1') });
}

/**
 * Extends the lease of items whose batch is still being delivered, so another worker cannot claim a slow
 * one again; only claims still this worker's and not yet recorded (recording clears `locked_until`).
 * Answers their ids.
 */
export async function extendClaims(db: Db, items: readonly OutboxRow[], lockedUntil: number): Promise<Set<number>> {
  if (items.length === 0) return new Set();
  const extended = (await ourClaims(db('outbox'), items)
    .whereNotNull('locked_until')
    .update({ locked_until: lockedUntil })
    .returning('id')) as Array<{ id: number | string }>;
  return new Set(extended.map((row) => Number(row.id)));
}

/** Rolls back a recording whose item is no longer this worker's (and says why). */
class NotOurs extends Error {
  constructor(readonly why: Exclude<RecordResult, 'recorded'>) {
    super(why);
  }
}

/**
 * An item's claim is still this worker's: not claimed again after its lease ran out (that raises
 * `attempts`), and not cancelled meanwhile (its invitation revoked), which must stay cancelled.
 */
function ourClaim<Q extends ReturnType<Db>>(q: Q, item: OutboxRow): Q {
  return q.where({ id: item.id, attempts: item.attempts }).whereNotIn('state', ['done', 'cancelled']) as Q;
}

/** The items among these whose claims are still this worker's. */
function ourClaims<Q extends ReturnType<Db>>(q: Q, items: readonly OutboxRow[]): Q {
  return q.where((any) => {
    for (const item of items) any.orWhere((one) => ourClaim(one as ReturnType<Db>, item));
  }) as Q;
}

/** A subquery finding the item while its claim is still this worker's, for writes made beside its record (`whereExists`). */
export function stillClaimed(db: Db | Trx, item: OutboxRow): ReturnType<Db> {
  return ourClaim(db('outbox').select(db.raw('1')), item);
}

/** What an outcome writes to its item: settled (done or cancelled), or due again after a wait. */
export function outcomeColumns(outcome: RecordedOutcome, now: number, item: Pick<OutboxRow, 'failures'>) {
  return outcome.result === 'failing'
    ? { state: undefined, locked_until: null, done_at: undefined, next_attempt_at: now + outcome.retryInMs, last_error: outcome.error, failures: outcome.backedOff ? Number(item.failures) + 1 : undefined }
    : { state: outcome.result === 'cancelled' ? 'cancelled' : 'done', locked_until: null, done_at: now, next_attempt_at: undefined, last_error: outcome.result === 'done' ? null : outcome.reason, failures: undefined };
}

/** Whether an outcome was recorded; if not, whether its item was cancelled or claimed again meanwhile. */
export type RecordResult = 'recorded' | 'cancelled' | 'claimed again';

/** Why an item's outcome was not recorded, read after the fact. */
export async function whyNotOurs(db: Db | Trx, item: OutboxRow): Promise<Exclude<RecordResult, 'recorded'>> {
  const state = (await db('outbox').where({ id: item.id }).first('state')) as { state: string } | undefined;
  return state?.state === 'cancelled' ? 'cancelled' : 'claimed again';
}

/**
 * Records an outcome while the claim is still this worker's (see `ourClaim`). `also` (e.g. what a refusal
 * sets off) runs first in the same transaction: every writer locks an invitation before its outbox rows, as a
 * revoke does, so two writers never wait on each other in a circle.
 */
export async function recordOutcome(db: Db, item: OutboxRow, outcome: RecordedOutcome, now: number, also?: (trx: Trx) => Promise<void>): Promise<RecordResult> {
  // knex leaves out the columns given as undefined.
  const update = outcomeColumns(outcome, now, item);
  if (!also) return (await ourClaim(db('outbox'), item).update(update)) === 1 ? 'recorded' : await whyNotOurs(db, item);
  try {
    return await inTransaction(db, async (trx): Promise<'recorded'> => {
      await also(trx);
      if ((await ourClaim(trx('outbox'), item).update(update)) === 1) return 'recorded';
      throw new NotOurs(await whyNotOurs(trx, item));
    });
  } catch (error) {
    if (error instanceof NotOurs) return error.why;
    throw error;
  }
}
