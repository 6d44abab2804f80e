import type { Db } from '../db/index.js';
import { DAY_MS } from '../shared/clock.js';

/** How long a settled email or webhook stays in the outbox (what became of it, for an operator reading the table). */
export const SETTLED_KEPT_MS = 30 * DAY_MS;
/** Rows deleted per statement, so no delete holds the table long. */
const BATCH = 5_000;

/**
 * Deletes items of these kinds settled (done or cancelled) over SETTLED_KEPT_MS ago; answers how
 * many. Only kinds nothing reads back once settled: a notice's buttons read its row, however old.
 */
export async function pruneSettled(db: Db, now: number, kinds: readonly string[], options: { batch?: number; stopping?: AbortSignal } = {}): Promise<number> {
  const batch = options.batch ?? BATCH;
  let deleted = 0;
  // A stop ends it between batches: a first run after an upgrade may have a long way to go.
  while (!options.stopping?.aborted) {
    const ids = (await db('outbox')
      .whereIn('kind', kinds)
      .whereIn('state', ['done', 'cancelled'])
      .where('done_at', '<', now - SETTLED_KEPT_MS)
      .orderBy('id')
      .limit(batch)
      .pluck('id')) as number[];
    if (ids.length === 0) return deleted;
    deleted += await db('outbox').whereIn('id', ids).whereIn('state', ['done', 'cancelled']).delete();
    if (ids.length < batch) return deleted;
  }
  return deleted;
}
