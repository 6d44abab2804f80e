import type { Knex } from 'knex';

/**
 * Lists from files, stored in batches: the rows, how far they are stored, and the summary so far.
 * Each batch moves `position` in the transaction that stores it, so a restart goes on from the
 * next batch (another instance takes the import over once its lease runs out).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('list_imports', (t) => {
    t.string('id', 40).primary();
    t.string('file_name', 200).notNullable();
    t.text('actor').notNullable();
    t.string('inviter_name', 200);
    t.text('choices').notNullable();
    t.text('rows').notNullable();
    t.integer('total').notNullable();
    t.integer('position').notNullable().defaultTo(0);
    t.text('summary').notNullable();
    t.string('state', 16).notNullable();
    t.bigInteger('lease_until').notNullable();
    t.string('dm_channel', 32);
    t.string('dm_ts', 32);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['state', 'lease_until']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('list_imports');
}
