import type { Knex } from 'knex';

/**
 * Webhooks: endpoints added with `doorman webhooks add` (those from WEBHOOK_URLS live in the
 * environment), and how every endpoint fares — its last success and last error, and one row per
 * failed attempt, kept for a day, so `doorman webhooks list` can count the failures of the last 24 h.
 * Deliveries themselves are outbox rows (kind `webhook`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.string('id', 40).primary();
    t.string('url', 2000).notNullable().unique();
    t.text('secret').notNullable();
    /** JSON array of event types; null: every event. */
    t.text('events');
    t.string('state', 16).notNullable(); // active | disabled
    t.text('disabled_reason');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('webhook_health', (t) => {
    t.string('endpoint_id', 40).primary();
    t.bigInteger('last_success_at');
    t.bigInteger('last_failure_at');
    t.text('last_error');
  });
  await knex.schema.createTable('webhook_failures', (t) => {
    t.increments('id').primary();
    t.string('endpoint_id', 40).notNullable();
    t.bigInteger('at').notNullable();
    t.index(['endpoint_id', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_failures');
  await knex.schema.dropTable('webhook_health');
  await knex.schema.dropTable('webhook_endpoints');
}
