import type { Knex } from 'knex';
import { inTransaction, serializeOn, type Db, type Trx } from './index.js';
import * as initial from '../../migrations/20261122_0001_initial.js';
import * as slackDedupe from '../../migrations/20261122_0002_slack_dedupe.js';
import * as notices from '../../migrations/20261122_0003_notices.js';
import * as invitationTallies from '../../migrations/20261122_0004_invitation_tallies.js';
import * as sweepMarks from '../../migrations/20261129_0005_sweep_marks.js';
import * as mailPace from '../../migrations/20261204_0006_mail_pace.js';
import * as invitationChoices from '../../migrations/20261204_0007_invitation_choices.js';
import * as inviteDrafts from '../../migrations/20261204_0008_invite_drafts.js';
import * as renewalRequests from '../../migrations/20261204_0009_renewal_requests.js';
import * as listImports from '../../migrations/20261204_0010_list_imports.js';
import * as webhooks from '../../migrations/20261205_0011_webhooks.js';
import * as approvals from '../../migrations/20261205_0012_approvals.js';
import * as reportRuns from '../../migrations/20261205_0013_report_runs.js';
import * as openListIndex from '../../migrations/20261205_0014_open_list_index.js';
import * as listImportFiles from '../../migrations/20261205_0015_list_import_files.js';
import * as outboxFailures from '../../migrations/20261206_0016_outbox_failures.js';
import * as releaseDeactivatedSlackLinks from '../../migrations/20261206_0017_release_deactivated_slack_links.js';
import * as replacedLinks from '../../migrations/20261206_0018_replaced_links.js';
import * as outboxTarget from '../../migrations/20261206_0019_outbox_target.js';
import * as appSettings from '../../migrations/20261206_0020_app_settings.js';
import * as approvalRequests from '../../migrations/20261206_0021_approval_requests.js';
import * as idempotencyKeys from '../../migrations/20261207_0022_idempotency_keys.js';
import * as recountInvitationTallies from '../../migrations/20261207_0023_recount_invitation_tallies.js';
import * as inviteDraftEnds from '../../migrations/20261207_0024_invite_draft_ends.js';
import * as renewNamedOnce from '../../migrations/20261207_0025_renew_named_once.js';
import * as auditActorName from '../../migrations/20261207_0026_audit_actor_name.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are listed here rather than read from a folder, so the same list runs from the
 * TypeScript sources (tests, tsx) and from the compiled `dist/`. Append new ones; never edit
 * one that has landed.
 */
const migrations: Array<[string, Migration]> = [
  ['20261122_0001_initial', initial],
  ['20261122_0002_slack_dedupe', slackDedupe],
  ['20261122_0003_notices', notices],
  ['20261122_0004_invitation_tallies', invitationTallies],
  ['20261129_0005_sweep_marks', sweepMarks],
  ['20261204_0006_mail_pace', mailPace],
  ['20261204_0007_invitation_choices', invitationChoices],
  ['20261204_0008_invite_drafts', inviteDrafts],
  ['20261204_0009_renewal_requests', renewalRequests],
  ['20261204_0010_list_imports', listImports],
  ['20261205_0011_webhooks', webhooks],
  ['20261205_0012_approvals', approvals],
  ['20261205_0013_report_runs', reportRuns],
  ['20261205_0014_open_list_index', openListIndex],
  ['20261205_0015_list_import_files', listImportFiles],
  ['20261206_0016_outbox_failures', outboxFailures],
  ['20261206_0017_release_deactivated_slack_links', releaseDeactivatedSlackLinks],
  ['20261206_0018_replaced_links', replacedLinks],
  ['20261206_0019_outbox_target', outboxTarget],
  ['20261206_0020_app_settings', appSettings],
  ['20261206_0021_approval_requests', approvalRequests],
  ['20261207_0022_idempotency_keys', idempotencyKeys],
  ['20261207_0023_recount_invitation_tallies', recountInvitationTallies],
  ['20261207_0024_invite_draft_ends', inviteDraftEnds],
  ['20261207_0025_renew_named_once', renewNamedOnce],
  ['20261207_0026_audit_actor_name', auditActorName],
];

export const migrationSource: Knex.MigrationSource<[string, Migration]> = {
  async getMigrations() {
    return migrations;
  },
  getMigrationName([name]) {
    return name;
  },
  async getMigration([, migration]) {
    return migration;
  },
};

const MIGRATE_LOCK = 0x6d696772;
const MIGRATION_TABLE = 'knex_migrations';
const MIGRATION_LOCK_TABLE = 'knex_migrations_lock';

/**
 * The migrations this code has that the database lacks, by name, or undefined for a database that
 * holds no record of migrations at all (not Doorman's, or empty). Only reads. A database a newer
 * Doorman migrated (holding migrations this code does not know) is refused, naming them.
 */
export async function pendingMigrations(db: Db): Promise<string[] | undefined> {
  // knex's list() would create its bookkeeping tables in a database that has none.
  if (!(await db.schema.hasTable(MIGRATION_TABLE)) || !(await db.schema.hasTable(MIGRATION_LOCK_TABLE))) return undefined;
  try {
    const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], Array<Parameters<typeof migrationSource.getMigrationName>[0]>];
    return pending.map((migration) => migrationSource.getMigrationName(migration));
  } catch (error) {
    // knex's words for it speak of a migration directory, which Doorman does not have.
    const missing = /the following files are missing: (.*)$/.exec((error as Error).message)?.[1];
    if (missing) throw new Error(`the database was migrated by a newer Doorman (${missing}); run that version, or one at least as new`);
    throw error;
  }
}

export async function migrate(db: Db, options: { lockWaitMs?: number } = {}): Promise<string[]> {
  await ensureMigrationTables(db);
  const giveUpAt = Date.now() + (options.lockWaitMs ?? 60_000);
  for (;;) {
    // Up to date (every start and command but the first after an upgrade): a read is enough, where
    // knex's latest() would still open a transaction and take and free the migration lock.
    if ((await pendingMigrations(db))?.length === 0) return [];
    try {
      const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
      return applied;
    } catch (error) {
      // Another process is migrating (two instances or commands started together): wait for it and
      // look again. A lock left by a crashed migration fails once the wait is over.
      const e = error as { name?: string; code?: string };
      if ((e.name !== 'MigrationLocked' && e.code !== 'SQLITE_BUSY') || Date.now() >= giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * knex creates its two bookkeeping tables with a look-then-create that two processes starting on a
 * fresh database race: one fails ("already exists"), or both insert a lock row and every later
 * migration finds the table "already locked". Creating them here, one process at a time, leaves
 * knex nothing to create. The columns are knex's own.
 */
async function ensureMigrationTables(db: Db): Promise<void> {
  const ready = async (q: Db | Trx) => (await q.schema.hasTable(MIGRATION_LOCK_TABLE)) && (await q(MIGRATION_LOCK_TABLE).first()) !== undefined;
  if (await ready(db)) return;
  await inTransaction(db, async (trx) => {
    await serializeOn(trx, MIGRATE_LOCK);
    if (await ready(trx)) return;
    if (!(await trx.schema.hasTable(MIGRATION_TABLE))) {
      await trx.schema.createTable(MIGRATION_TABLE, (t) => {
        t.increments();
        t.string('name');
        t.integer('batch');
        t.timestamp('migration_time');
      });
    }
    if (!(await trx.schema.hasTable(MIGRATION_LOCK_TABLE))) {
      await trx.schema.createTable(MIGRATION_LOCK_TABLE, (t) => {
        t.increments('index').primary();
        t.integer('is_locked');
      });
    }
    await trx(MIGRATION_LOCK_TABLE).insert({ is_locked: 0 });
  });
}
