import type { Knex } from 'knex';
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
