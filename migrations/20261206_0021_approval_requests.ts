import type { Knex } from 'knex';

/**
 * One approval request per inviting action (the rule "Policy"): the invitations held together share a
 * request, which approvers see as one message (Approve all / Deny all) instead of one per address.
 * Additive: an invitation held before (or by an older instance) has no request id and is a request
 * of its own, and its posted copies stay in approval_messages, keyed by the invitation.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invitations', (t) => {
    t.string('approval_request_id', 40);
  });
  await knex.raw('CREATE INDEX invitations_approval_request ON invitations (approval_request_id) WHERE approval_request_id IS NOT NULL');
  await knex.schema.createTable('approval_request_messages', (t) => {
    t.increments('id').primary();
    t.string('request_id', 40).notNullable();
    t.string('channel', 32).notNullable();
    t.string('ts', 32).notNullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['request_id', 'channel']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('approval_request_messages');
  await knex.raw('DROP INDEX invitations_approval_request');
  // Native DROP COLUMN (see 0007's down): the table is not copied, so its triggers and the rows referring to it stay.
  await knex.raw('ALTER TABLE invitations DROP COLUMN approval_request_id');
}
