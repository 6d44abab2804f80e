import type { Knex } from 'knex';

/**
 * The acting person's name as it was when they acted, kept with each audit entry: the audit channel
 * names them instead of mentioning them (a mention notifies them of each of their own changes).
 * Entries from before have none and keep the mention.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.string('actor_name', 200);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropColumn('actor_name');
  });
}
