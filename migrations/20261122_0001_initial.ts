import type { Knex } from 'knex';

// Times are epoch milliseconds (bigint) on both databases, so comparisons and sorting behave the same.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('members', (t) => {
    t.string('id', 40).primary();
    t.string('email', 320).notNullable().unique(); // stored lower-cased: uniqueness is case-insensitive
    t.string('first_name', 200);
    t.string('last_name', 200);
    t.text('password_hash');
    t.string('role', 16).notNullable().defaultTo('member');
    t.string('state', 16).notNullable().defaultTo('active');
    t.string('api_token_hash', 64).unique();
    t.string('slack_user_id', 32).unique();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('deactivated_at');
    t.index(['role', 'state']);
  });

  await knex.schema.createTable('invitations', (t) => {
    t.string('id', 40).primary();
    t.string('email', 320).notNullable();
    t.string('role', 16).notNullable().defaultTo('member');
    t.string('status', 16).notNullable().defaultTo('pending'); // pending | accepted | revoked
    t.string('token_hash', 64).notNullable().unique(); // sha256 of the newest link token
    t.string('token_nonce', 64).notNullable(); // the link is HMAC(APP_SECRET, nonce): useless without the secret
    t.bigInteger('expires_at').notNullable();
    t.string('invited_by_member_id', 40).references('members.id');
    t.string('invited_by_slack_user_id', 32);
    t.string('invited_by_name', 200);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('last_sent_at').notNullable();
    t.integer('send_count').notNullable().defaultTo(1);
    t.bigInteger('accepted_at');
    t.string('accepted_member_id', 40).references('members.id');
    t.bigInteger('revoked_at');
    t.string('revoked_by', 80);
    t.string('delivery_state', 16).notNullable().defaultTo('queued'); // queued | sent | failing
    t.text('delivery_error');
    t.bigInteger('expiry_notified_at'); // set when the expiry notice is claimed (exactly once)
    t.text('metadata');
    t.index(['status', 'created_at', 'id'], 'invitations_status_created');
    t.index(['status', 'email'], 'invitations_status_email');
    t.index(['status', 'expires_at'], 'invitations_status_expires');
    t.index(['created_at', 'id'], 'invitations_created');
    t.index(['email'], 'invitations_email');
  });
  // At most one pending invitation per email, enforced by the database.
  await knex.raw(`CREATE UNIQUE INDEX invitations_one_pending_per_email ON invitations (email) WHERE status = 'pending'`);
  // Due expiries are found through this small partial index, never by scanning the table.
  await knex.raw(
    `CREATE INDEX invitations_due_expiry ON invitations (expires_at) WHERE status = 'pending' AND expiry_notified_at IS NULL`,
  );

  await knex.schema.createTable('outbox', (t) => {
    t.increments('id').primary();
    t.string('kind', 32).notNullable(); // invite_email | slack_message | …
    t.string('state', 16).notNullable().defaultTo('pending'); // pending | done | cancelled
    t.string('dedupe_key', 200).unique();
    t.string('invitation_id', 40);
    t.text('payload').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.bigInteger('locked_until');
    t.text('last_error');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('done_at');
    t.index(['invitation_id']);
  });
  await knex.raw(`CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending'`);

  await knex.schema.createTable('audit_log', (t) => {
    t.increments('id').primary();
    t.bigInteger('at').notNullable();
    t.string('actor_type', 16).notNullable(); // slack | member | system
    t.string('actor_id', 80);
    t.string('action', 40).notNullable();
    t.string('subject_type', 20).notNullable();
    t.string('subject_id', 40).notNullable();
    t.text('details');
    t.index(['subject_type', 'subject_id']);
    t.index(['at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
  await knex.schema.dropTable('outbox');
  await knex.schema.dropTable('invitations');
  await knex.schema.dropTable('members');
}
