import type { Knex } from 'knex';

/**
 * The open invitations (pending and awaiting approval, the admin API's default list) in creation
 * order, so their first page reads a few index entries however long the history. The unique index
 * on pending emails goes: the one on open emails (20261205_0012) already holds that rule, and the
 * spare index steered SQLite 3.52's planner off the creation-order index for the pending list.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX invitations_open_created ON invitations (created_at, id) WHERE status IN ('pending', 'awaiting')`);
  await knex.raw('DROP INDEX invitations_one_pending_per_email');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`CREATE UNIQUE INDEX invitations_one_pending_per_email ON invitations (email) WHERE status = 'pending'`);
  await knex.raw('DROP INDEX invitations_open_created');
}
