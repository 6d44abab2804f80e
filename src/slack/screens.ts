import type { types } from '@slack/bolt';
import { homeView, HOME_ROWS } from './blocks/home.js';
import { invitesTable } from './blocks/invites-table.js';
import type { Block } from './blocks/limits.js';
import { membersList } from './blocks/members.js';
import type { SlackDeps } from './deps.js';
import { InvalidInput } from '../shared/errors.js';
import { MEMBERS_PAGE_SIZE, PAGE_SIZE, type TableState } from './action-values.js';

/** Reads what a screen shows (the invitations table, App Home, the members list) and builds it. */

export async function invitationsScreen(deps: SlackDeps, state: TableState, notice?: string): Promise<{ text: string; blocks: Block[] }> {
  const query = { status: state.status, sort: state.sort, order: state.order, limit: PAGE_SIZE, search: state.search };
  // One read gives the page and the counts (the total comes from them too); from its cursor when it has one.
  let page = await deps.invites.listWithCounts({ ...query, offset: state.offset, cursor: state.cursor }).catch((error: unknown) => {
    // A cursor that is not this order's (a forged or old button) starts at the offset instead.
    if (!(error instanceof InvalidInput) || !state.cursor) throw error;
    state = { ...state, cursor: undefined };
    return deps.invites.listWithCounts({ ...query, offset: state.offset });
  });
  // A page that emptied (its rows were revoked or filtered away) shows the last page that has rows,
  // or the first, saying there are none.
  if (page.invitations.length === 0 && state.offset > 0) {
    state = { ...state, offset: page.total > 0 ? Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE : 0, cursor: undefined };
    if (page.total > 0) page = await deps.invites.listWithCounts({ ...query, offset: state.offset });
  }
  return invitesTable({ invitations: page.invitations, total: page.total, state, counts: page.counts, notice, nextCursor: page.nextCursor });
}

export async function homeScreen(deps: SlackDeps, notice?: string): Promise<types.HomeView> {
  const latest = { sort: 'created' as const, order: 'desc' as const, limit: HOME_ROWS };
  // The latest expired are those that expired last, whenever they were sent.
  const [pending, expired] = await Promise.all([deps.invites.listWithCounts({ ...latest, status: 'pending' }), deps.invites.list({ ...latest, sort: 'expires', status: 'expired' })]);
  return homeView({ counts: pending.counts, pending: pending.invitations, expired: expired.invitations, command: deps.command, notice });
}

export async function membersScreen(deps: SlackDeps, offset: number, notice?: string): Promise<{ text: string; blocks: Block[] }> {
  // Taken before the list is read: a deactivation after this moment is one the list may not show.
  const drawnAt = deps.clock.now();
  let result = await deps.members.list({ limit: MEMBERS_PAGE_SIZE, offset });
  if (result.members.length === 0 && result.total > 0 && offset > 0) {
    offset = Math.floor((result.total - 1) / MEMBERS_PAGE_SIZE) * MEMBERS_PAGE_SIZE;
    result = await deps.members.list({ limit: MEMBERS_PAGE_SIZE, offset });
  }
  return membersList({ members: result.members, total: result.total, offset, command: deps.command, notice, drawnAt });
}
