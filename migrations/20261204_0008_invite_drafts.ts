import type { Knex } from 'knex';

/**
 * A list an inviter submitted in Slack's form and is reviewing before anything is sent: what they
 * typed and chose, and the review they were shown. Too large for a modal's private metadata
 * (3,000 characters), so the modal carries only the draft's id. Kept a day.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('invite_drafts', (t) => {
    t.string('id', 40).primary();
    t.string('slack_user_id', 32).notNullable();
    t.text('body').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('invite_drafts');
}
