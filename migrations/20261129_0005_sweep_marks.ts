import type { Knex } from 'knex';

const MARKS = { expiry: 'expiry_notices', reminder: 'reminder_notices' } as const;
/** The sweeps' own advisory lock (src/jobs/expiry-sweep.ts); written out, as migrations never change. */
const SWEEP_LOCK = 0x73776570;

/**
 * PostgreSQL: waits for a sweep under way (of an instance still running the old code) to commit,
 * and keeps the next one out until this migration commits, so the marks are read from columns no
 * sweep is writing. SQLite's migration holds the one write lock already.
 */
async function holdSweeps(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') await knex.raw('SELECT pg_advisory_xact_lock(?)', [SWEEP_LOCK]);
}

/**
 * The expiry sweep keeps how far it has looked (an `expires_at` per notice kind, in `job_cursors`)
 * instead of marking every announced invitation. Marking changed a column of a partial index's
 * predicate, so on PostgreSQL every claimed row got a new version and new entries in all nine
 * indexes of the table: a sweep of 10,000 expiries took over a second. The marks start where the
 * per-row columns left off: the latest expiry (or reminder window) already announced among pending
 * invitations; everything pending above it is announced by the next sweep, as before.
 */
export async function up(knex: Knex): Promise<void> {
  await holdSweeps(knex);
  const now = Date.now();
  for (const [name, column] of [[MARKS.expiry, 'expiry_notified_at'], [MARKS.reminder, 'reminder_notified_at']] as const) {
    const row = (await knex('invitations').where({ status: 'pending' }).whereNotNull(column).max({ mark: 'expires_at' }).first()) as { mark: number | string | null } | undefined;
    if (row?.mark != null) await knex('job_cursors').insert({ name, position: Number(row.mark), updated_at: now }).onConflict('name').merge(['position', 'updated_at']);
  }
  await knex.raw('DROP INDEX invitations_due_expiry');
  await knex.raw('DROP INDEX invitations_due_reminder');
  // Native DROP COLUMN on both (SQLite ≥ 3.35), so SQLite does not copy the table.
  await knex.raw('ALTER TABLE invitations DROP COLUMN expiry_notified_at');
  await knex.raw('ALTER TABLE invitations DROP COLUMN reminder_notified_at');
}

export async function down(knex: Knex): Promise<void> {
  await holdSweeps(knex);
  await knex.schema.alterTable('invitations', (t) => {
    t.bigInteger('expiry_notified_at');
    t.bigInteger('reminder_notified_at');
  });
  const marks = new Map(((await knex('job_cursors').whereIn('name', Object.values(MARKS))) as Array<{ name: string; position: number | string }>).map((r) => [r.name, Number(r.position)]));
  for (const [name, column] of [[MARKS.expiry, 'expiry_notified_at'], [MARKS.reminder, 'reminder_notified_at']] as const) {
    const mark = marks.get(name);
    if (mark !== undefined) await knex('invitations').where({ status: 'pending' }).where('expires_at', '<=', mark).update({ [column]: mark });
  }
  await knex.raw(`CREATE INDEX invitations_due_expiry ON invitations (expires_at) WHERE status = 'pending' AND expiry_notified_at IS NULL`);
  await knex.raw(`CREATE INDEX invitations_due_reminder ON invitations (expires_at) WHERE status = 'pending' AND reminder_notified_at IS NULL`);
  await knex('job_cursors').whereIn('name', Object.values(MARKS)).delete();
}
