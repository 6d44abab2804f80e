import type { Knex } from 'knex';

/**
 * The mail provider's pace (MAIL_RATE), shared by every instance: one row per budget holding the
 * time from which the next email may go (a "theoretical arrival time"). Each send moves it on by
 * one interval, atomically, so instances together never go faster than the rate.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_budgets', (t) => {
    t.string('name', 64).primary();
    t.bigInteger('next_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_budgets');
}
