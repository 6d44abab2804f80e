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
/** How long an import is its runner's before another may take it over (renewed by every batch). */
export const IMPORT_LEASE_MS = 60_000;

export interface ListImportInput extends InviteChoices {
  fileName: string;
  file: ListFile;
  /** The role of rows that name none. */
  role: Role;
  actor: Actor;
  inviterName?: string | null;
  /** Where its progress is shown (a Slack DM), if anywhere. */
  dm?: { channel: string; ts: string };
}

export interface ListImportState {
  id: string;
  fileName: string;
  total: number;
  position: number;
  done: boolean;
  summary: InviteSummary;
  dm: { channel: string; ts: string } | null;
}

interface ListImportRow {
  id: string;
  file_name: string;
  actor: string;
  inviter_name: string | null;
  choices: string;
  rows: string;
  total: number | string;
  position: number | string;
  summary: string;
  state: 'running' | 'done';
  lease_until: number | string;
  dm_channel: string | null;
  dm_ts: string | null;
}


/** Stores an import (nothing invited yet); its runner holds the lease. */
export async function createListImport(ctx: InvitesContext, input: ListImportInput): Promise<string> {
  const id = newId('import');
  const now = ctx.clock.now();
  const choices = { role: input.role, expiresInDays: input.expiresInDays ?? null, message: input.message ?? null };
  checkedChoices(choices);
  const rows: Array<[string, Role | null]> = input.file.rows.map((row: ListFileRow) => [row.entry, row.role]);
  await ctx.db('list_imports').insert({
    id,
    file_name: input.fileName.slice(0, 200),
    actor: JSON.stringify(input.actor),
    inviter_name: storedName(input.inviterName),
    choices: JSON.stringify(choices),
    rows: JSON.stringify(rows),
    total: rows.length,
    position: 0,
    summary: JSON.stringify({ ...emptySummary(), invalid: input.file.invalid }),
    state: rows.length ? 'running' : 'done',
    lease_until: now + IMPORT_LEASE_MS,
    dm_channel: input.dm?.channel ?? null,
    dm_ts: input.dm?.ts ?? null,
    created_at: now,
    updated_at: now,
  });
  return id;
}

/**
 * Stores the next batch: up to IMPORT_BATCH rows from `position` on, each with its own role, in
 * one transaction with the import's new position and summary — so each row is invited once,
 * whatever stops the runner between batches.
 */
export async function storeNextBatch(ctx: InvitesContext, id: string): Promise<ListImportState> {
  const row = await loadRow(ctx, id);
  const state = toState(row);
  if (state.done) return state;
  const rows = JSON.parse(row.rows) as Array<[string, Role | null]>;
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
  const moveOn = (trx: Trx | typeof ctx.db, summary: InviteSummary, now: number) =>
    trx('list_imports').where({ id, position: start }).update({
      position: end,
      summary: JSON.stringify(summary),
      state: end >= rows.length ? 'done' : 'running',
      lease_until: now + IMPORT_LEASE_MS,
      updated_at: now,
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
        if (moved !== 1) throw new LostImport(id);
      },
    },
  ).catch(async (error: unknown) => {
    if (error instanceof LostImport) return;
    // The batch refused as a whole (too long a list, say): the same every time, so its rows are
    // reported with why and the import goes on, rather than failing again at each take-over.
    if (!(error instanceof InvalidInput)) throw error;
    const invalid = batch.map(([entry]) => ({ entry: entry.slice(0, 320), reason: error.message }));
    await moveOn(ctx.db, merge(invalidBefore, { ...emptySummary(), invalid }), ctx.clock.now());
  });
  return toState(await loadRow(ctx, id));
}

/**
 * Slack imports whose runner stopped (a restart, a crash): taken over, one runner each. An import
 * from the CLI (no DM) is the operator's: one stopped with Ctrl-C stays stopped (running the
 * command again reports the rows already stored as already invited).
 */
export async function takeOverStalledImports(ctx: InvitesContext): Promise<string[]> {
  const now = ctx.clock.now();
  const stalled = (await ctx.db('list_imports').where({ state: 'running' }).whereNotNull('dm_channel').andWhere('lease_until', '<', now).orderBy('lease_until').limit(10).select('id')) as Array<{ id: string }>;
  const taken: string[] = [];
  for (const { id } of stalled) {
    const won = await ctx.db('list_imports').where({ id, state: 'running' }).andWhere('lease_until', '<', now).update({ lease_until: now + IMPORT_LEASE_MS, updated_at: now });
    if (won === 1) taken.push(id);
  }
  return taken;
}

export async function listImportState(ctx: InvitesContext, id: string): Promise<ListImportState> {
  return toState(await loadRow(ctx, id));
}

class LostImport extends Error {
  constructor(id: string) {
    super(`import ${id} was taken over by another runner`);
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
    total: Number(row.total),
    position: Number(row.position),
    done: row.state === 'done',
    summary: JSON.parse(row.summary) as InviteSummary,
    dm: row.dm_channel && row.dm_ts ? { channel: row.dm_channel, ts: row.dm_ts } : null,
  };
}
