import type { Knex } from 'knex';

/**
 * How many invitations each stored status has (pending, accepted, revoked), kept by triggers in
 * the same transaction as every insert, delete and status change — so the Invitations table and
 * the App Home count a million invitations without counting them. Pending is split into live and
 * expired at read time: live ones are few (at most what was sent within one INVITE_TTL) and are
 * counted through the (status, expires_at) index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('invitation_tallies', (t) => {
    t.string('status', 16).primary();
    t.bigInteger('n').notNullable().defaultTo(0);
  });
  await knex.raw(`INSERT INTO invitation_tallies (status, n) SELECT status, count(*) FROM invitations GROUP BY status`);
  for (const status of ['pending', 'accepted', 'revoked']) {
    await knex('invitation_tallies').insert({ status, n: 0 }).onConflict('status').ignore();
  }
  for (const statement of knex.client.config.client === 'pg' ? postgresTriggers() : sqliteTriggers()) await knex.raw(statement);
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    await knex.raw('DROP TRIGGER IF EXISTS invitation_tallies_insert ON invitations');
    await knex.raw('DROP TRIGGER IF EXISTS invitation_tallies_delete ON invitations');
    await knex.raw('DROP TRIGGER IF EXISTS invitation_tallies_update ON invitations');
    await knex.raw('DROP FUNCTION IF EXISTS invitation_tallies_inserted()');
    await knex.raw('DROP FUNCTION IF EXISTS invitation_tallies_deleted()');
    await knex.raw('DROP FUNCTION IF EXISTS invitation_tallies_moved()');
  } else {
    for (const name of ['insert', 'delete', 'update']) await knex.raw(`DROP TRIGGER IF EXISTS invitation_tallies_${name}`);
  }
  await knex.schema.dropTable('invitation_tallies');
}

/** SQLite: row triggers (one writer at a time, so no contention to design for). */
function sqliteTriggers(): string[] {
  const add = (status: string, n: string) => `INSERT INTO invitation_tallies (status, n) VALUES (${status}, ${n}) ON CONFLICT (status) DO UPDATE SET n = n + excluded.n;`;
  return [
    `CREATE TRIGGER invitation_tallies_insert AFTER INSERT ON invitations BEGIN ${add('NEW.status', '1')} END`,
    `CREATE TRIGGER invitation_tallies_delete AFTER DELETE ON invitations BEGIN ${add('OLD.status', '-1')} END`,
    `CREATE TRIGGER invitation_tallies_update AFTER UPDATE OF status ON invitations WHEN OLD.status IS NOT NEW.status
       BEGIN ${add('OLD.status', '-1')} ${add('NEW.status', '1')} END`,
  ];
}

/**
 * PostgreSQL: inserts and deletes are tallied once per statement from its transition table (a
 * bulk invite of 100,000 rows updates the tally once); status changes per row, and only rows whose
 * status changed call the function. Every change moves away from pending first, so concurrent
 * transactions lock tally rows in the same order.
 */
function postgresTriggers(): string[] {
  const add = (from: string) =>
    `INSERT INTO invitation_tallies AS t (status, n) ${from} ON CONFLICT (status) DO UPDATE SET n = t.n + excluded.n`;
  return [
    `CREATE FUNCTION invitation_tallies_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN ${add('SELECT status, count(*) FROM new_rows GROUP BY status ORDER BY status')}; RETURN NULL; END $$`,
    `CREATE FUNCTION invitation_tallies_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN ${add('SELECT status, -count(*) FROM old_rows GROUP BY status ORDER BY status')}; RETURN NULL; END $$`,
    `CREATE FUNCTION invitation_tallies_moved() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN ${add('VALUES (OLD.status, -1)')}; ${add('VALUES (NEW.status, 1)')}; RETURN NULL; END $$`,
    `CREATE TRIGGER invitation_tallies_insert AFTER INSERT ON invitations REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION invitation_tallies_inserted()`,
    `CREATE TRIGGER invitation_tallies_delete AFTER DELETE ON invitations REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION invitation_tallies_deleted()`,
    `CREATE TRIGGER invitation_tallies_update AFTER UPDATE OF status ON invitations
       FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION invitation_tallies_moved()`,
  ];
}
