import type { Knex } from 'knex';
import type { Trx } from '../db/index.js';
import type { Role } from '../members/roles.js';
import { storedName, type Actor } from '../shared/actor.js';
import { InvalidInput } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { checkedChoices, type InviteChoices } from './choices.js';
import type { InvitesContext } from './context.js';
import { parseEmailList } from './email-list.js';
import { inviteMany } from './invite-many.js';
import type { ListFile, ListFileRow } from './list-file.js';
import { emptySummary, mergeSummaries as merge, type InviteSummary } from './model.js';

/** Rows stored per transaction: large enough to be quick, small enough to report progress. */
export const IMPORT_BATCH = 1_000;
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

export interface ListImportInput extends InviteChoices {
  fileName: string;
  file: ListFile;
  /** The role of rows that name none. */
  role: Role;
  actor: Actor;
  inviterName?: string | null;
}

export interface ListImportState {
  id: string;
  fileName: string;
  /** `fetching`: a Slack import whose file is not read yet (`fileUrl`); `done`: every row stored. */
  stage: 'fetching' | 'running' | 'done';
  done: boolean;
  fileUrl: string | null;
  total: number;
  position: number;
  summary: InviteSummary;
  dm: { channel: string; ts: string } | null;
  /** Whether the DM shows the summary: until then a Slack import is its runner's (and taken over). */
  summaryShown: boolean;
  /** Who imports it, when that is someone in Slack (where its DM goes). */
  slackUserId: string | null;
}

/** A Slack import as the form hands it over: the file still to be downloaded. */
export interface FileImportInput extends InviteChoices {
  fileName: string;
  url: string;
  role: Role;
  actor: Actor;
  inviterName?: string | null;
}

interface ListImportRow {
  id: string;
  file_name: string;
  file_url: string | null;
  actor: string;
  inviter_name: string | null;
  choices: string;
  rows: string;
  total: number | string;
  position: number | string;
  summary: string;
  state: 'fetching' | 'running' | 'done';
  lease_until: number | string;
  dm_channel: string | null;
  dm_ts: string | null;
  summary_shown_at: number | string | null;
  runner: string | null;
}

type StoredRows = Array<[string, Role | null]>;

/** What an import's rows, total, summary and state are once its list is read. */
function listColumns(file: ListFile) {
  const rows: StoredRows = file.rows.map((row: ListFileRow) => [row.entry, row.role]);
  return {
    rows: JSON.stringify(rows),
    total: rows.length,
    position: 0,
    summary: JSON.stringify({ ...emptySummary(), invalid: file.invalid }),
    state: rows.length ? 'running' : 'done',
  };
}

/** The columns every new import starts with; its runner holds the lease. */
function newImport(ctx: InvitesContext, input: InviteChoices & { fileName: string; role: Role; actor: Actor; inviterName?: string | null }) {
  const now = ctx.clock.now();
  const choices = { role: input.role, expiresInDays: input.expiresInDays ?? null, message: input.message ?? null };
  checkedChoices(choices);
  return {
    id: newId('import'),
    runner: newId('run'),
    file_name: input.fileName.slice(0, 200),
    actor: JSON.stringify(input.actor),
    inviter_name: storedName(input.inviterName),
    choices: JSON.stringify(choices),
    lease_until: now + IMPORT_LEASE_MS,
    created_at: now,
    updated_at: now,
  };
}

/** Stores an import from a list already read (the CLI's; nothing invited yet); its runner holds the lease. */
export async function createListImport(ctx: InvitesContext, input: ListImportInput): Promise<ImportRun> {
  const row = newImport(ctx, input);
  await ctx.db('list_imports').insert({ ...row, ...listColumns(input.file) });
  return { id: row.id, runner: row.runner };
}

/** Stores a Slack import before its file is downloaded, so a restart meanwhile does not lose it. */
export async function createFileImport(ctx: InvitesContext, input: FileImportInput): Promise<ImportRun> {
  const row = newImport(ctx, input);
  await ctx.db('list_imports').insert({ ...row, file_url: input.url, rows: '[]', total: 0, position: 0, summary: JSON.stringify(emptySummary()), state: 'fetching' });
  return { id: row.id, runner: row.runner };
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

/** A downloaded file's list, stored with its import (once: a file read again changes nothing). */
export async function fillListImport(ctx: InvitesContext, run: ImportRun, file: ListFile): Promise<ListImportState> {
  const now = ctx.clock.now();
  const filled = await ctx.db('list_imports').where({ ...run, state: 'fetching' }).update({ ...listColumns(file), lease_until: now + IMPORT_LEASE_MS, updated_at: now });
  if (filled === 0) await holdImport(ctx, run);
  return listImportState(ctx, run.id);
}

/** An import whose file could not be read (its inviter was told, or cannot be): nothing of it is kept. */
export async function dropListImport(ctx: InvitesContext, run: ImportRun): Promise<void> {
  await ours(ctx, run, await ctx.db('list_imports').where({ ...run, state: 'fetching' }).delete());
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

/**
 * Stores the next batch: up to IMPORT_BATCH rows from `position` on, each with its own role, in
 * one transaction with the import's new position and summary — so each row is invited once,
 * whatever stops the runner between batches.
 */
export async function storeNextBatch(ctx: InvitesContext, run: ImportRun): Promise<ListImportState> {
  const { id } = run;
  const row = await loadRow(ctx, id);
  if (row.runner !== run.runner) throw new ImportLost(id);
  const state = toState(row);
  if (state.stage !== 'running') return state;
  const rows = JSON.parse(row.rows) as StoredRows;
  const choices = JSON.parse(row.choices) as { role: Role; expiresInDays: number | null; message: string | null };
  const start = Number(row.position);
  const end = Math.min(rows.length, start + IMPORT_BATCH);
  const batch = rows.slice(start, end);
  // A row's own role, keyed by its address as the list rules read it.
  const roles = new Map<string, Role>();
  for (const [entry, role] of batch) {
    const email = role ? parseEmailList(entry).emails[0] : undefined;
    if (email && role) roles.set(email, role);
  }
  const invalidBefore = JSON.parse(row.summary) as InviteSummary;
  const done = end >= rows.length;
  const moveOn = (trx: Trx | typeof ctx.db, summary: InviteSummary, now: number) =>
    trx('list_imports').where({ ...run, position: start }).update({
      position: end,
      summary: JSON.stringify(summary),
      state: done ? 'done' : 'running',
      lease_until: now + IMPORT_LEASE_MS,
      updated_at: now,
      // An import with no DM to show its summary in (the CLI's) is finished with its last batch.
      ...(done && !row.dm_channel && !row.file_url ? { summary_shown_at: now } : {}),
    });
  // Rows with nothing to read (a spreadsheet's empty `;;` rows): nothing to store, the import goes on.
  const parsed = parseEmailList(batch.map(([entry]) => entry).join('\n'));
  if (parsed.emails.length === 0 && parsed.invalid.length === 0) {
    await moveOn(ctx.db, invalidBefore, ctx.clock.now());
    return toState(await loadRow(ctx, id));
  }
  await inviteMany(
    ctx,
    { emails: batch.map(([entry]) => entry), role: choices.role, roles, expiresInDays: choices.expiresInDays, message: choices.message, actor: JSON.parse(row.actor) as Actor, inviterName: row.inviter_name },
    {
      alsoInTransaction: async (trx: Trx, batch) => {
        // Read again under the transaction: a runner that lost its lease must not store twice.
        const moved = await moveOn(trx, merge(invalidBefore, batch), ctx.clock.now());
        if (moved !== 1) throw new BatchTaken(id);
      },
    },
  ).catch(async (error: unknown) => {
    if (error instanceof BatchTaken) {
      // Another step got there first: the same runner's (it moved on), or another runner's.
      if ((await loadRow(ctx, id)).runner !== run.runner) throw new ImportLost(id);
      return;
    }
    // The batch refused as a whole (too long a list, say): the same every time, so its rows are
    // reported with why and the import goes on, rather than failing again at each take-over.
    if (!(error instanceof InvalidInput)) throw error;
    const invalid = batch.map(([entry]) => ({ entry: entry.slice(0, 320), reason: error.message }));
    await moveOn(ctx.db, merge(invalidBefore, { ...emptySummary(), invalid }), ctx.clock.now());
  });
  return toState(await loadRow(ctx, id));
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

/** A Slack import given up: its inviter is told where it showed its progress (or in a new DM). */
export interface GivenUpImport {
  fileName: string;
  /** `dropped`: never read, nothing invited; `closed`: stored, its summary never shown. */
  how: 'dropped' | 'closed';
  dm: { channel: string; ts: string } | null;
  slackUserId: string | null;
  summary: InviteSummary;
}

/**
 * Slack imports left unfinished for IMPORT_GIVE_UP_MS: one never read is dropped (nothing of it
 * was invited), one whose summary was never shown is closed. One with rows left goes on: its
 * inviter saw it start storing. Each is given up by one statement of its own, so of several
 * instances only the one that gave it up tells its inviter.
 */
export async function giveUpStaleImports(ctx: InvitesContext): Promise<GivenUpImport[]> {
  const now = ctx.clock.now();
  const stale = (q: Knex.QueryBuilder) => unfinishedSlackImports(q).andWhere('lease_until', '<', now).andWhere('created_at', '<', now - IMPORT_GIVE_UP_MS);
  const rows = (await stale(ctx.db('list_imports').whereIn('state', ['fetching', 'done']))) as ListImportRow[];
  const givenUp: GivenUpImport[] = [];
  for (const row of rows) {
    const mine = stale(ctx.db('list_imports').where({ id: row.id, state: row.state }));
    const changed = row.state === 'fetching' ? await mine.delete() : await mine.update({ summary_shown_at: now, updated_at: now });
    if (changed !== 1) continue;
    const state = toState(row);
    givenUp.push({ fileName: state.fileName, how: row.state === 'fetching' ? 'dropped' : 'closed', dm: state.dm, slackUserId: state.slackUserId, summary: state.summary });
  }
  return givenUp;
}

export async function listImportState(ctx: InvitesContext, id: string): Promise<ListImportState> {
  return toState(await loadRow(ctx, id));
}

function slackUserOf(actor: Actor): string | null {
  return actor.type === 'slack' ? actor.slackUserId : null;
}

/** The batch a step was storing was stored meanwhile (by another step, or another runner). */
class BatchTaken extends Error {
  constructor(id: string) {
    super(`list import ${id}: this batch was stored meanwhile`);
  }
}

async function loadRow(ctx: InvitesContext, id: string): Promise<ListImportRow> {
  const row = (await ctx.db('list_imports').where({ id }).first()) as ListImportRow | undefined;
  if (!row) throw new Error(`no list import ${id}`);
  return row;
}

function toState(row: ListImportRow): ListImportState {
  return {
    id: row.id,
    fileName: row.file_name,
    stage: row.state,
    done: row.state === 'done',
    fileUrl: row.file_url,
    total: Number(row.total),
    position: Number(row.position),
    summary: JSON.parse(row.summary) as InviteSummary,
    dm: row.dm_channel && row.dm_ts ? { channel: row.dm_channel, ts: row.dm_ts } : null,
    summaryShown: row.summary_shown_at !== null,
    slackUserId: slackUserOf(JSON.parse(row.actor) as Actor),
  };
}
