import type { Knex } from 'knex';

/**
 * How many of an outbox item's tries failed (or were asked to slow down), apart from `attempts`,
 * which counts every claim: a retry's backoff doubles with the failures, not with the waits for
 * its turn (MAIL_RATE, Slack's pacing) that a busy queue makes many of. Additive: older instances
 * leave it at 0.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.integer('failures').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('failures');
  });
}
