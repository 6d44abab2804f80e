import type { Knex } from 'knex';

/**
 * Weekly reports sent, one row per period (keyed by the scheduled moment that ends it). The row is
 * inserted in the transaction that queues the report's Slack messages, so with several instances
 * exactly one of them sends each period; it keeps the figures the messages are drawn from.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('report_runs', (t) => {
    t.bigInteger('period_end').primary();
    t.bigInteger('period_start').notNullable();
    t.string('claim', 40).notNullable();
    t.text('figures');
    t.integer('recipients').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('report_runs');
}
