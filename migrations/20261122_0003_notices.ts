import type { Knex } from 'knex';

/**
 * Scheduled notices: reminders before expiry are claimed once per invitation (like expiry
 * notices), and the audit channel reads the audit log from a cursor each instance shares.
 * Also: a session version per member, so signing out ends sessions on the server.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invitations', (t) => {
    t.bigInteger('reminder_notified_at');
  });
  await knex.raw(
    `CREATE INDEX invitations_due_reminder ON invitations (expires_at) WHERE status = 'pending' AND reminder_notified_at IS NULL`,
  );
  // Signing out ends every session of the member: sessions carry this number and stop matching.
  await knex.schema.alterTable('members', (t) => {
    t.integer('session_version').notNullable().defaultTo(0);
  });
  await knex.schema.createTable('job_cursors', (t) => {
    t.string('name', 40).primary();
    t.bigInteger('position').notNullable().defaultTo(0);
    t.bigInteger('locked_until');
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('job_cursors');
  await knex.schema.alterTable('members', (t) => {
    t.dropColumn('session_version');
  });
  await knex.raw('DROP INDEX invitations_due_reminder');
  await knex.schema.alterTable('invitations', (t) => {
    t.dropColumn('reminder_notified_at');
  });
}
