import type { Knex } from 'knex';

/**
 * A deactivated member no longer holds a Slack user: deactivation now releases it, so the same
 * person can come back with another account and be recognized in Slack, and nothing is addressed to
 * them through the link. This does the same for members deactivated before, each release written to
 * the audit log as a `slack_unlink` (the two-person rule reads the Slack user a member held there).
 * Not undone by `down`.
 */
export async function up(knex: Knex): Promise<void> {
  const held = (await knex('members').where({ state: 'deactivated' }).whereNotNull('slack_user_id').select('id', 'slack_user_id')) as Array<{ id: string; slack_user_id: string }>;
  const now = Date.now();
  // A hundred at a time: one statement stays far inside SQLite's and PostgreSQL's limits however many there are.
  for (let i = 0; i < held.length; i += 100) {
    const some = held.slice(i, i + 100);
    await knex('audit_log').insert(
      some.map((m) => ({ at: now, actor_type: 'system', actor_id: 'migration', action: 'slack_unlink', subject_type: 'member', subject_id: m.id, details: JSON.stringify({ slackUserId: null, previous: m.slack_user_id }) })),
    );
    await knex('members').whereIn('id', some.map((m) => m.id)).update({ slack_user_id: null, updated_at: now });
  }
}

export async function down(): Promise<void> {}
