import type { Knex } from 'knex';

/**
 * The rule "Policy": invitations held for a second person's approval (stored status `awaiting`, shown as Awaiting approval),
 * who decided and why, the Slack messages that asked (so every copy is updated in place), and the
 * indexes that count an inviter's invitations of the last 24 hours in one read.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invitations', (t) => {
    t.string('approval_reasons', 80); // comma list: outside_domains, admin_role (null: never held)
    t.bigInteger('decided_at');
    t.string('decided_by', 80); // actorRef of the approver or denier; `system` for a lapse
    t.string('decided_by_name', 200);
    t.string('decision', 16); // approved | denied | lapsed
    t.text('deny_reason');
    t.index(['invited_by_member_id', 'created_at'], 'invitations_member_created');
    t.index(['invited_by_slack_user_id', 'created_at'], 'invitations_slack_created');
  });
  // One open invitation per address, whether it is pending or waiting for approval.
  await knex.raw(`CREATE UNIQUE INDEX invitations_one_open_per_email ON invitations (email) WHERE status IN ('pending', 'awaiting')`);
  await knex('invitation_tallies').insert({ status: 'awaiting', n: 0 }).onConflict('status').ignore();

  await knex.schema.createTable('approval_messages', (t) => {
    t.increments('id').primary();
    t.string('invitation_id', 40).notNullable().references('invitations.id');
    t.string('channel', 32).notNullable();
    t.string('ts', 32).notNullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['invitation_id', 'channel']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('approval_messages');
  await knex.raw('DROP INDEX IF EXISTS invitations_one_open_per_email');
  await knex.schema.alterTable('invitations', (t) => {
    t.dropIndex(['invited_by_member_id', 'created_at'], 'invitations_member_created');
    t.dropIndex(['invited_by_slack_user_id', 'created_at'], 'invitations_slack_created');
  });
  // Native DROP COLUMN (see 0007's down): the table is not copied, so its triggers and the rows referring to it stay.
  for (const column of ['approval_reasons', 'decided_at', 'decided_by', 'decided_by_name', 'decision', 'deny_reason']) await knex.raw(`ALTER TABLE invitations DROP COLUMN ${column}`);
  await knex('invitation_tallies').where({ status: 'awaiting', n: 0 }).delete();
}
