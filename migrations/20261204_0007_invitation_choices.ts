import type { Knex } from 'knex';

/**
 * What an inviter may choose per invitation: how long its links work (null: INVITE_TTL) and a
 * personal message shown in the email and on the accept page.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invitations', (t) => {
    t.bigInteger('ttl_ms');
    t.text('message');
  });
}

export async function down(knex: Knex): Promise<void> {
  // Native DROP COLUMN on both (SQLite ≥ 3.35): knex's SQLite dropColumn copies the table, which
  // drops its triggers (the tallies') and cascades the rows that refer to it.
  for (const column of ['ttl_ms', 'message']) await knex.raw(`ALTER TABLE invitations DROP COLUMN ${column}`);
}
