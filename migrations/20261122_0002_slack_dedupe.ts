import type { Knex } from 'knex';

/**
 * Slack delivers some requests more than once (retries with X-Slack-Retry-Num, double clicks).
 * Each key is claimed once here, so the second delivery finds it and changes nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('slack_dedupe', (t) => {
    t.string('key', 255).primary();
    t.bigInteger('created_at').notNullable();
    t.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('slack_dedupe');
}
