import type { Role } from '../members/roles.js';
import { slackUserIdOf, type Actor } from '../shared/actor.js';
import type { InvitesContext } from './context.js';
import type { InviteSummary } from './model.js';

/** A list import as its runners and its DM see it, read back from its row. */
export interface ListImportState {
  id: string;
  fileName: string;
  /**
   * `fetching`: a Slack import whose file is not read yet (`fileUrl`); `review`: read, and shown to its
   * inviter, who sends it or cancels it; `done`: every row stored.
   */
  stage: 'fetching' | 'review' | 'running' | 'done';
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
  /** The role of rows that name none, how long the links work, the personal message. */
  choices: { role: Role; expiresInDays: number | null; message: string | null };
}

/** The `list_imports` row: its rows, choices and summary as JSON text. */
export interface ListImportRow {
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
  state: ListImportState['stage'];
  lease_until: number | string;
  dm_channel: string | null;
  dm_ts: string | null;
  summary_shown_at: number | string | null;
  runner: string | null;
}

export type StoredRows = Array<[string, Role | null]>;

export async function listImportState(ctx: InvitesContext, id: string): Promise<ListImportState> {
  return toState(await loadRow(ctx, id));
}

/** The import, if it is still kept (a Send or Cancel on its review may come after it was given up). */
export async function findListImport(ctx: InvitesContext, id: string): Promise<ListImportState | undefined> {
  const row = await findRow(ctx, id);
  return row ? toState(row) : undefined;
}

function findRow(ctx: InvitesContext, id: string): Promise<ListImportRow | undefined> {
  return ctx.db('list_imports').where({ id }).first() as Promise<ListImportRow | undefined>;
}

export async function loadRow(ctx: InvitesContext, id: string): Promise<ListImportRow> {
  const row = await findRow(ctx, id);
  if (!row) throw new Error(`no list import ${id}`);
  return row;
}

/** The DM an import reports in, once it has one. */
export function importDm(row: Pick<ListImportRow, 'dm_channel' | 'dm_ts'>): ListImportState['dm'] {
  return row.dm_channel && row.dm_ts ? { channel: row.dm_channel, ts: row.dm_ts } : null;
}

/** The Slack user who submitted the import (its stored actor's). */
export function importSlackUserId(row: Pick<ListImportRow, 'actor'>): string | null {
  return slackUserIdOf(JSON.parse(row.actor) as Actor);
}

export function toState(row: ListImportRow): ListImportState {
  return {
    id: row.id,
    fileName: row.file_name,
    stage: row.state,
    done: row.state === 'done',
    fileUrl: row.file_url,
    total: Number(row.total),
    position: Number(row.position),
    summary: JSON.parse(row.summary) as InviteSummary,
    dm: importDm(row),
    summaryShown: row.summary_shown_at !== null,
    slackUserId: importSlackUserId(row),
    choices: JSON.parse(row.choices) as ListImportState['choices'],
  };
}
