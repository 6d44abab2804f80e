import type { Knex } from 'knex';

/**
 * Facts the service records for the CLI to check itself against: the fingerprint of the APP_SECRET
 * the service runs with, so a command run with another secret (links that would open nothing) is
 * refused. Additive: an old instance records nothing, and the CLI then checks nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('app_settings', (t) => {
    t.string('key', 64).primary();
    t.text('value').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('app_settings');
}
