import type { Knex } from 'knex';

/**
 * How many writes this process has finished on a database: a statement outside a transaction
 * counts when it answers, a transaction when `inTransaction` ends it (every transaction in
 * Doorman goes through it). A read that started after the count last moved sees every write
 * this process had finished by then; that is what lets callers share a read (see coalesce.ts).
 */
const finished = new WeakMap<Knex, { n: number }>();

interface QueryEvent {
  sql?: string;
  __knexTxId?: string;
}

/** Starts counting on `db` (once; later calls change nothing) and answers the counter. */
export function trackWrites(db: Knex): { readonly n: number } {
  const known = finished.get(db);
  if (known) return known;
  const counter = { n: 0 };
  finished.set(db, counter);
  const answered = (_response: unknown, query: QueryEvent) => {
    // Inside a transaction a write is not visible before the commit: counted when it ends.
    if (query.__knexTxId) return;
    // Anything that is not a plain SELECT counts (a PRAGMA too): counting too often is safe.
    if (!/^\s*select\b/i.test(query.sql ?? '')) counter.n++;
  };
  db.on('query-response', answered);
  db.on('query-error', (error: unknown, query: QueryEvent) => answered(error, query));
  return counter;
}

/** A transaction on `db` ended (committed or rolled back). */
export function transactionEnded(db: Knex): void {
  const counter = finished.get(db);
  if (counter) counter.n++;
}
