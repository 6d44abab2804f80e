import type { Knex } from 'knex';

/**
 * Answers kept for a day under the client's Idempotency-Key (medusa-js sends one with every POST
 * when it may retry): a retry of a request whose answer was lost gets that answer again instead of
 * doing the work twice. Keyed by a hash of the key with its route and caller.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.string('key_hash', 64).primary();
    t.string('fingerprint', 64).notNullable();
    t.integer('status');
    t.string('content_type', 100);
    t.text('body');
    t.bigInteger('created_at').notNullable();
    t.index(['created_at'], 'idempotency_keys_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys');
}
