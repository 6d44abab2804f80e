import type { types } from '@slack/bolt';
import { homeView, HOME_ROWS } from './blocks/home.js';
import { invitesTable } from './blocks/invites-table.js';
import type { Block } from './blocks/limits.js';
import { membersList } from './blocks/members.js';
import type { SlackDeps } from './deps.js';
import { MEMBERS_PAGE_SIZE, PAGE_SIZE, type TableState } from './values.js';

/** Loads what a surface shows and renders it with its pure builder. */

/**
 * How long a rendered table may answer other requests for the same table, while this instance
 * has finished no write since its read began (so a change made here always shows at once). A
 * change made by another instance or the CLI shows within this time.
 */
export const SHARED_RENDER_MS = 250;

/**
 * The Invitations table for `state`. Requests asking for the same table at about the same moment
 * (a busy `/invites`) share one read and one render (see SHARED_RENDER_MS); a request always sees
 * the writes this instance finished before it asked. The result is shared: callers spread it,
 * never change it.
 */
export function renderTable(deps: SlackDeps, state: TableState, notice?: string): Promise<{ text: string; blocks: Block[] }> {
  return deps.renders.run(`table:${JSON.stringify([state.status, state.sort, state.order, state.offset, notice ?? null])}`, () => buildTable(deps, state, notice));
}

async function buildTable(deps: SlackDeps, state: TableState, notice?: string): Promise<{ text: string; blocks: Block[] }> {
  const query = { status: state.status, sort: state.sort, order: state.order, limit: PAGE_SIZE };
  // One read gives the page and the counts (the total comes from them too).
  let page = await deps.invites.listWithCounts({ ...query, offset: state.offset });
  // A page that emptied (its rows were revoked or filtered away) shows the last page that has rows.
  if (page.invitations.length === 0 && page.total > 0 && state.offset > 0) {
    state = { ...state, offset: Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE };
    page = await deps.invites.listWithCounts({ ...query, offset: state.offset });
  }
  return invitesTable({ invitations: page.invitations, total: page.total, state, counts: page.counts, notice });
}

export async function renderHome(deps: SlackDeps, notice?: string): Promise<types.HomeView> {
  const latest = { sort: 'created' as const, order: 'desc' as const, limit: HOME_ROWS };
  const [pending, expired] = await Promise.all([deps.invites.listWithCounts({ ...latest, status: 'pending' }), deps.invites.list({ ...latest, status: 'expired' })]);
  return homeView({ counts: pending.counts, pending: pending.invitations, expired: expired.invitations, notice });
}

export async function renderMembers(deps: SlackDeps, offset: number, notice?: string): Promise<{ text: string; blocks: Block[] }> {
  let result = await deps.members.list({ limit: MEMBERS_PAGE_SIZE, offset });
  if (result.members.length === 0 && result.total > 0 && offset > 0) {
    offset = Math.floor((result.total - 1) / MEMBERS_PAGE_SIZE) * MEMBERS_PAGE_SIZE;
    result = await deps.members.list({ limit: MEMBERS_PAGE_SIZE, offset });
  }
  return membersList({ members: result.members, total: result.total, offset, notice });
}
