import type { Knex } from 'knex';

/**
 * Requests for a new invitation made from an expired link's page: at most one per invitation a
 * day reaches the inviter, and a dismissal is kept so the DM can say so when drawn again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('renewal_requests', (t) => {
    t.string('id', 40).primary();
    t.string('invitation_id', 40).notNullable().references('invitations.id');
    t.bigInteger('requested_at').notNullable();
    t.bigInteger('dismissed_at');
    t.string('dismissed_by', 64);
    t.index(['invitation_id', 'requested_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('renewal_requests');
}
