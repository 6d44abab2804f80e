import type { Trx } from '../db/index.js';
import type { Role } from '../members/roles.js';
import { storedName, type Actor } from '../shared/actor.js';
import { InvalidInput } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { importRequestId } from './approvals.js';
import { checkedChoices, type InviteChoices } from './choices.js';
import { noLongerInvitingWords, whyNoLongerInviting, type InvitesContext } from './context.js';
import { parseEmailList } from './email-list.js';
import { inviteMany, inviterColumns } from './invite-many.js';
import type { ListFile, ListFileRow } from './list-file.js';
import { listImportState, loadRow, toState, type ListImportRow, type ListImportState, type StoredRows } from './import-state.js';
import { reviewList, type ListReview } from './review.js';
import { holdImport, IMPORT_LEASE_MS, ImportLost, stopListImport, type ImportRun } from './import-runs.js';
import { emptySummary, mergeSummaries as merge, type InviteSummary } from './model.js';

/** Rows stored per transaction: large enough to be quick, small enough to report progress. */
export const IMPORT_BATCH = 1_000;

export interface ListImportInput extends InviteChoices {
  fileName: string;
  file: ListFile;
  /** The role of rows that name none. */
  role: Role;
  actor: Actor;
  inviterName?: string | null;
}

/** A Slack import as the form hands it over: the file still to be downloaded. */
export interface FileImportInput extends InviteChoices {
  fileName: string;
  url: string;
  role: Role;
  actor: Actor;
  inviterName?: string | null;
}

/** What an import's rows, total, summary and state are once its list is read (`review`: shown to its inviter first). */
function listColumns(file: ListFile, review = false) {
  const rows: StoredRows = file.rows.map((row: ListFileRow) => [row.entry, row.role]);
  return {
    rows: JSON.stringify(rows),
    total: rows.length,
    position: 0,
    summary: JSON.stringify({ ...emptySummary(), invalid: file.invalid }),
    state: rows.length ? (review ? 'review' : 'running') : 'done',
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

/**
 * A downloaded file's list, stored with its import (once: a file read again changes nothing).
 * `review`: it waits for its inviter's Send (sendReviewedImport) before anything is stored.
 */
export async function fillListImport(ctx: InvitesContext, run: ImportRun, file: ListFile, options: { review?: boolean } = {}): Promise<ListImportState> {
  const now = ctx.clock.now();
  const filled = await ctx.db('list_imports').where({ ...run, state: 'fetching' }).update({ ...listColumns(file, options.review), lease_until: now + IMPORT_LEASE_MS, updated_at: now });
  if (filled === 0) await holdImport(ctx, run);
  return listImportState(ctx, run.id);
}

/** Why the import's inviter may no longer invite (it then stops at its next batch, saying why), if they may not. */
function whyImportStops(ctx: InvitesContext, row: Pick<ListImportRow, 'actor'>) {
  // The inviter as the batch's invitations would store it.
  return whyNoLongerInviting(ctx.policy, ctx.db, inviterColumns({ actor: JSON.parse(row.actor) as Actor }));
}

/** Each address's own role, as the rows name it: a line may hold several addresses (see withoutRepeats), the role is each one's. */
function rowRoles(rows: StoredRows): Map<string, Role> {
  const roles = new Map<string, Role>();
  for (const [entry, role] of rows) if (role) for (const email of parseEmailList(entry).emails) roles.set(email, role);
  return roles;
}

/**
 * What sending a read file would do, for its inviter's review before anything is stored, with the
 * role each address would get; undefined when there is nothing to review: it would invite nobody, or
 * its inviter may no longer invite (its summary then says so at once).
 */
export async function reviewListImport(ctx: InvitesContext, id: string, file: ListFile): Promise<{ review: ListReview; roleOf: (email: string) => Role } | undefined> {
  if (!file.rows.length) return undefined;
  const row = await loadRow(ctx, id);
  if (await whyImportStops(ctx, row)) return undefined;
  const review = await reviewList(ctx, file.rows.map((r) => r.entry));
  if (review.fresh.length + review.renew.length === 0) return undefined;
  review.invalid.push(...file.invalid);
  const roles = rowRoles(file.rows.map((r): StoredRows[number] => [r.entry, r.role]));
  const { role } = JSON.parse(row.choices) as { role: Role };
  return { review, roleOf: (email) => roles.get(email) ?? role };
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
  // Each batch goes out in its inviter's name: a member deactivated or no longer an admin meanwhile
  // (a download retried for hours, a restart) stops the import where it is.
  const why = await whyImportStops(ctx, row);
  if (why) {
    await stopListImport(ctx, run, `the import stopped because you may no longer invite people (${noLongerInvitingWords(why, 'you')})`);
    return listImportState(ctx, id);
  }
  const rows = JSON.parse(row.rows) as StoredRows;
  const choices = JSON.parse(row.choices) as { role: Role; expiresInDays: number | null; message: string | null };
  const start = Number(row.position);
  const end = Math.min(rows.length, start + IMPORT_BATCH);
  const batch = rows.slice(start, end);
  // A row's own role, keyed by its address as the list rules read it.
  const roles = rowRoles(batch);
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
    // The import is one inviting action: its batches' held addresses are one approval request.
    { emails: batch.map(([entry]) => entry), role: choices.role, roles, expiresInDays: choices.expiresInDays, message: choices.message, actor: JSON.parse(row.actor) as Actor, inviterName: row.inviter_name, approvalRequestId: importRequestId(id) },
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

/** The batch a step was storing was stored meanwhile (by another step, or another runner). */
class BatchTaken extends Error {
  constructor(id: string) {
    super(`list import ${id}: this batch was stored meanwhile`);
  }
}

