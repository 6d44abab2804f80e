import type { Knex } from 'knex';

/**
 * Counts the invitations again into `invitation_tallies`. On PostgreSQL, 0004 counted them before
 * its triggers existed, without keeping writers out: an invitation an older instance stored or
 * changed meanwhile (a rolling upgrade) was never counted, and the tallies stayed off for good.
 * Here writers wait until the count commits (SQLite's migration holds the one write lock already).
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') await knex.raw('LOCK TABLE invitations IN SHARE ROW EXCLUSIVE MODE');
  await knex('invitation_tallies').update({ n: 0 });
  await knex.raw(`INSERT INTO invitation_tallies (status, n) SELECT status, count(*) FROM invitations GROUP BY status ON CONFLICT (status) DO UPDATE SET n = excluded.n`);
}

/** Nothing to undo: the counts are right for the schema before this one too. */
export async function down(): Promise<void> {}
