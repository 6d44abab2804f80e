import type { Knex } from 'knex';
import { newId } from '../shared/ids.js';
import type { InvitesContext } from './context.js';
import { importDm, importSlackUserId, type ListImportRow } from './import-state.js';
import type { InviteSummary } from './model.js';

/*
 * Who runs a list import: each runner holds a lease, renewed by every step; a Slack import whose
 * runner stopped is taken over by a new one. One never read, or whose summary was never shown, a
 * day after it was submitted is given up, as is a review left unsent a day after it was shown; one
 * with rows left to store goes on. A review waits for its inviter's Send, never for a runner.
 */

/** How long an import is its runner's before another may take it over (renewed by every step). */
export const IMPORT_LEASE_MS = 60_000;
/**
 * A Slack import not read, or whose summary was not shown, this long after it was submitted (Slack
 * out of reach or turned off meanwhile) is given up rather than resumed out of the blue.
 */
export const IMPORT_GIVE_UP_MS = 24 * 3_600_000;

/** One runner's hold on an import: each step it takes is refused (ImportLost) once another took it over. */
export interface ImportRun {
  id: string;
  runner: string;
}

/** The import was taken over by another runner (this one stalled past its lease): this one stops. */
export class ImportLost extends Error {
  constructor(id: string) {
    super(`list import ${id} was taken over by another runner`);
  }
}

/** Renews the runner's lease before a step that may take a while (a download, a Slack call); ImportLost when it is not its any more. */
export async function holdImport(ctx: InvitesContext, run: ImportRun): Promise<void> {
  const now = ctx.clock.now();
  await ours(ctx, run, await ctx.db('list_imports').where(run).update({ lease_until: now + IMPORT_LEASE_MS, updated_at: now }));
}

/** Where an import shows its progress (the DM its runner posted), kept for whoever takes it over. */
export async function showImportIn(ctx: InvitesContext, run: ImportRun, dm: { channel: string; ts: string }): Promise<void> {
  const now = ctx.clock.now();
  await ours(ctx, run, await ctx.db('list_imports').where(run).update({ dm_channel: dm.channel, dm_ts: dm.ts, lease_until: now + IMPORT_LEASE_MS, updated_at: now }));
}

/** An import whose file could not be read (its inviter was told, or cannot be): nothing of it is kept. */
export async function dropListImport(ctx: InvitesContext, run: ImportRun): Promise<void> {
  await ours(ctx, run, await ctx.db('list_imports').where({ ...run, state: 'fetching' }).delete());
}

/**
 * Stops an import with rows left to store (its inviter may no longer invite): the rows not stored
 * are named in its summary with `why`, and the import is done, its summary still to be shown.
 */
export async function stopListImport(ctx: InvitesContext, run: ImportRun, why: string): Promise<void> {
  const row = (await ctx.db('list_imports').where({ ...run, state: 'running' }).first('summary', 'position', 'total')) as Pick<ListImportRow, 'summary' | 'position' | 'total'> | undefined;
  if (!row) return ours(ctx, run, 0);
  const summary = JSON.parse(row.summary) as InviteSummary;
  const left = Number(row.total) - Number(row.position);
  summary.invalid.push({ entry: `${left.toLocaleString('en')} ${left === 1 ? 'entry' : 'entries'} not stored`, reason: why });
  const now = ctx.clock.now();
  await ours(ctx, run, await ctx.db('list_imports').where({ ...run, state: 'running', position: row.position }).update({ state: 'done', summary: JSON.stringify(summary), updated_at: now }));
}

/**
 * Send on an import's review: its rows are stored from now on, by a new runner (the caller's);
 * undefined when it was sent, cancelled or given up already (of two clicks at once, one sends).
 */
export async function sendReviewedImport(ctx: InvitesContext, id: string): Promise<ImportRun | undefined> {
  const now = ctx.clock.now();
  const run = { id, runner: newId('run') };
  const sent = await ctx.db('list_imports').where({ id, state: 'review' }).update({ state: 'running', runner: run.runner, lease_until: now + IMPORT_LEASE_MS, updated_at: now });
  return sent === 1 ? run : undefined;
}

/** Cancel on an import's review: nothing of it is kept; false when it was sent or given up already. */
export async function cancelReviewedImport(ctx: InvitesContext, id: string): Promise<boolean> {
  return (await ctx.db('list_imports').where({ id, state: 'review' }).delete()) === 1;
}

/** The import's DM shows its summary (or never can): the import is finished. */
export async function markSummaryShown(ctx: InvitesContext, run: ImportRun): Promise<void> {
  await ours(ctx, run, await ctx.db('list_imports').where({ ...run, state: 'done' }).update({ summary_shown_at: ctx.clock.now() }));
}

/** ImportLost unless the step changed the runner's row. */
async function ours(ctx: InvitesContext, run: ImportRun, changed: number): Promise<void> {
  if (changed === 1) return;
  const row = (await ctx.db('list_imports').where({ id: run.id }).first('runner')) as { runner: string | null } | undefined;
  if (row?.runner !== run.runner) throw new ImportLost(run.id);
  throw new Error(`list import ${run.id} is not at the stage this step is for`);
}

/** Slack imports that are not finished: not read yet, rows left to store, or the summary not shown. */
function unfinishedSlackImports(q: Knex.QueryBuilder): Knex.QueryBuilder {
  return q
    .where((w) => w.whereIn('state', ['fetching', 'running']).orWhere((done) => done.where({ state: 'done' }).whereNull('summary_shown_at')))
    .andWhere((slack) => slack.whereNotNull('dm_channel').orWhereNotNull('file_url'));
}

/**
 * A Slack import whose runner stopped (a restart, a crash, Slack out of reach) before the DM showed
 * the summary, taken over by a new runner; one at a time, oldest lease first, so imports this
 * runner does not get to are left to others. `running`: imports this process runs already. An
 * import from the CLI (no file URL, no DM) is the operator's: one stopped with Ctrl-C stays
 * stopped (running the command again reports the rows already stored as already invited).
 */
export async function takeOverStalledImport(ctx: InvitesContext, running: readonly string[] = []): Promise<ImportRun | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = ctx.clock.now();
    const stalled = (await unfinishedSlackImports(ctx.db('list_imports'))
      .andWhere('lease_until', '<', now)
      .whereNotIn('id', running)
      .orderBy('lease_until')
      .first('id')) as { id: string } | undefined;
    if (!stalled) return undefined;
    const run = { id: stalled.id, runner: newId('run') };
    const won = await unfinishedSlackImports(ctx.db('list_imports').where({ id: run.id }))
      .andWhere('lease_until', '<', now)
      .update({ runner: run.runner, lease_until: now + IMPORT_LEASE_MS, updated_at: now });
    if (won === 1) return run;
    // Another runner took it between the read and the update: look again.
  }
  return undefined;
}

type GivenUpRow = Pick<ListImportRow, 'id' | 'file_name' | 'state' | 'actor' | 'summary' | 'dm_channel' | 'dm_ts'>;

/** A Slack import given up: its inviter is told where it showed its progress (or in a new DM). */
export interface GivenUpImport {
  id: string;
  fileName: string;
  /** `dropped`: never read, nothing invited; `unsent`: reviewed, never sent, nothing invited; `closed`: stored, its summary never shown. */
  how: 'dropped' | 'unsent' | 'closed';
  dm: { channel: string; ts: string } | null;
  slackUserId: string | null;
  summary: InviteSummary;
}

/**
 * Slack imports left unfinished for IMPORT_GIVE_UP_MS: one never read is dropped (nothing of it
 * was invited), one reviewed but never sent (counted from its review) is dropped too, one whose
 * summary was never shown is closed. One with rows left goes on: its inviter saw it start storing.
 * Each is given up by one statement of its own, so of several instances only the one that gave it
 * up tells its inviter.
 */
export async function giveUpStaleImports(ctx: InvitesContext): Promise<GivenUpImport[]> {
  const now = ctx.clock.now();
  const stale = (q: Knex.QueryBuilder) => unfinishedSlackImports(q).andWhere('lease_until', '<', now).andWhere('created_at', '<', now - IMPORT_GIVE_UP_MS);
  const unsent = (q: Knex.QueryBuilder) => q.where({ state: 'review' }).andWhere('updated_at', '<', now - IMPORT_GIVE_UP_MS);
  const columns = ['id', 'file_name', 'state', 'actor', 'summary', 'dm_channel', 'dm_ts'];
  const rows = [
    ...((await stale(ctx.db('list_imports').whereIn('state', ['fetching', 'done'])).select(columns)) as GivenUpRow[]),
    ...((await unsent(ctx.db('list_imports')).select(columns)) as GivenUpRow[]),
  ];
  const givenUp: GivenUpImport[] = [];
  for (const row of rows) {
    const mine = (row.state === 'review' ? unsent : stale)(ctx.db('list_imports').where({ id: row.id, state: row.state }));
    const changed = row.state === 'done' ? await mine.update({ summary_shown_at: now, updated_at: now }) : await mine.delete();
    if (changed !== 1) continue;
    givenUp.push({
      id: row.id,
      fileName: row.file_name,
      how: row.state === 'fetching' ? 'dropped' : row.state === 'review' ? 'unsent' : 'closed',
      dm: importDm(row),
      slackUserId: importSlackUserId(row),
      summary: JSON.parse(row.summary) as InviteSummary,
    });
  }
  return givenUp;
}
