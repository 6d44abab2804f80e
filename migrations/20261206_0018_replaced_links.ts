import type { Knex } from 'knex';

/**
 * The links a newer invitation replaced (Send new invitation, inviting an expired address again),
 * by their token's hash: such a link, opened from an older email, is told it was replaced by a
 * newer invitation instead of being "not valid", and is not counted as a guess.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('replaced_links', (t) => {
    t.string('token_hash', 64).primary();
    t.string('invitation_id', 40).notNullable().references('id').inTable('invitations').onDelete('CASCADE');
    t.bigInteger('replaced_at').notNullable();
    t.index(['invitation_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('replaced_links');
}
