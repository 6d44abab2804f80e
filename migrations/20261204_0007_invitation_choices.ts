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
  await knex.schema.alterTable('invitations', (t) => {
    t.dropColumn('ttl_ms');
    t.dropColumn('message');
  });
}
