import type { Knex } from 'knex';

/**
 * A deactivated member no longer holds a Slack user: deactivation now releases it, so the same
 * person can come back with another account and be recognized in Slack, and nothing is addressed to
 * them through the link. This does the same for members deactivated before. Not undone by `down`
 * (the links are gone); the deactivations' audit rows keep who held which.
 */
export async function up(knex: Knex): Promise<void> {
  await knex('members').where({ state: 'deactivated' }).whereNotNull('slack_user_id').update({ slack_user_id: null });
}

export async function down(): Promise<void> {}
