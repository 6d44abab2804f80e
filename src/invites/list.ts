import type { Knex } from 'knex';
import { chunked, containsText, isPostgres, type Db } from '../db/index.js';
import { InvalidInput } from '../shared/errors.js';
import type { InvitesContext } from './context.js';
import { decodeCursor, encodeCursor, type SortKey, type SortOrder } from './cursor.js';
import { asStored } from './email-list.js';
import { toInvitation, type Invitation, type InvitationRow, type ShownStatus } from './model.js';

/** `open`: pending, expired and awaiting approval together — the invitations an admin can still act on. */
export type StatusFilter = ShownStatus | 'open' | 'all';
export type { SortKey, SortOrder };

export interface ListQuery {
  status?: StatusFilter;
  sort?: SortKey;
  order?: SortOrder;
  limit?: number;
  offset?: number;
  /** From a previous page's `nextCursor`; takes precedence over `offset`. */
  cursor?: string;
  /** A fragment of the email address. */
  search?: string;
  /** Include the accept token of live pending invitations (for admins: the admin API's `token`). */
  withTokens?: boolean;
}

export interface ListPage {
  invitations: Invitation[];
  total: number;
  limit: number;
  offset: number;
  nextCursor: string | null;
}

export type StatusCounts = Record<ShownStatus | 'all', number>;

export interface DeliveryProgress {
  total: number;
  sent: number;
  failing: number;
}

export const MAX_PAGE = 500;
const SORT_COLUMNS: Record<Exclude<SortKey, 'status'>, keyof InvitationRow> = { email: 'email', created: 'created_at', expires: 'expires_at' };
const STATUS_RANK_SQL = `CASE WHEN status = 'awaiting' THEN 0 WHEN status = 'pending' AND expires_at > ? THEN 1 WHEN status = 'pending' THEN 2 WHEN status = 'accepted' THEN 3 ELSE 4 END`;

/** A page of invitations and how many match (the admin API's list): one statement without a search. */
export async function listPage(ctx: InvitesContext, query: ListQuery = {}): Promise<ListPage> {
  if (query.search?.trim()) {
    const { counts: _counts, ...page } = await listInvitations(ctx, query);
    return page;
  }
  const now = ctx.clock.now();
  const total = totalSql(query.status ?? 'all', now);
  // The page's rows carry the total from the tallies; past the last page it is read on its own.
  const page = await readPage(ctx, query, now, (q) => q.select('*', ctx.db.raw(`${total.sql} AS list_total`, total.bindings)));
  const first = page.rows[0] as (InvitationRow & { list_total?: number | string }) | undefined;
  return { ...page.list, total: first ? Number(first.list_total) : await countAlone(ctx, total) };
}

/**
 * Every invitation the query matches, up to `max`, read a page at a time in the query's order (the
 * admin API's list without a limit); how many match is read with the first page only.
 */
export async function listAll(ctx: InvitesContext, query: Omit<ListQuery, 'limit' | 'cursor'>, max: number): Promise<{ invitations: Invitation[]; total: number }> {
  const first = await listPage(ctx, { ...query, limit: MAX_PAGE });
  const invitations = first.invitations.slice(0, max);
  for (let cursor = first.nextCursor; cursor && invitations.length < max; ) {
    const { list } = await readPage(ctx, { ...query, offset: undefined, limit: MAX_PAGE, cursor }, ctx.clock.now(), (q) => q);
    invitations.push(...list.invitations.slice(0, max - invitations.length));
    cursor = list.nextCursor;
  }
  return { invitations, total: first.total };
}

/** A page of invitations, with the counts per status read beside it (what the table and App Home show). */
export async function listInvitations(ctx: InvitesContext, query: ListQuery = {}): Promise<ListPage & { counts: StatusCounts }> {
  const now = ctx.clock.now();
  // Checked and built first, so a refused query (a bad cursor, say) throws before any read starts
  // and none is left running unawaited.
  const ordered = pageOrder(query);
  const counting = query.search?.trim() ? filtered(ctx.db, query, now).count<{ n: number | string }[]>({ n: '*' }) : undefined;
  const [page, counts, searched] = await Promise.all([readPage(ctx, query, now, (q) => q, ordered), countByStatus(ctx), counting]);
  const status = query.status ?? 'all';
  // The tallies give the total, unless a search narrows the list (then it is counted).
  const total = searched ? Number(searched[0]?.n ?? 0) : status === 'open' ? counts.pending + counts.expired + counts.awaiting_approval : counts[status];
  return { ...page.list, total, counts };
}

/** The query's order and where its page starts; a cursor that is not one of this order's throws. */
function pageOrder(query: ListQuery) {
  const sort = query.sort ?? 'created';
  const order = query.order ?? (sort === 'created' || sort === 'expires' ? 'desc' : 'asc');
  return { sort, order, cursor: decodeCursor(query.cursor, sort, order) };
}

/** One page, in the query's order and filter, and the cursor to the next. */
async function readPage(
  ctx: InvitesContext,
  query: ListQuery,
  now: number,
  decorate: (q: Knex.QueryBuilder<InvitationRow, InvitationRow[]>) => Knex.QueryBuilder,
  { sort, order, cursor } = pageOrder(query),
): Promise<{ rows: InvitationRow[]; list: Omit<ListPage, 'total'> }> {
  const limit = Math.max(1, Math.min(query.limit ?? 25, MAX_PAGE));
  let offset = cursor && 'offset' in cursor ? cursor.offset : Math.max(0, query.offset ?? 0);

  // Ordered by anything but expiry, the page walks the index of its sort column and checks the
  // expiry on the way: the first page costs a few rows however many are stored.
  const page = filtered(ctx.db, query, now, { expiryIndexed: sort === 'expires', index: pageIndex(query.status ?? 'all', sort) });
  if (sort === 'status') {
    // Within one shown status every row has the same rank, so the order is its tie-break alone.
    if (mixesStatuses(query.status ?? 'all')) page.orderByRaw(`${STATUS_RANK_SQL} ${order}, created_at desc, id desc`, [now]);
    else page.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
    page.offset(offset);
  } else {
    const column = SORT_COLUMNS[sort];
    if (cursor && 'value' in cursor) {
      // Keyset paging: constant time however deep the page.
      const op = order === 'asc' ? '>' : '<';
      page.where((q) => q.where(column, op, cursor.value).orWhere((q2) => q2.where(column, '=', cursor.value).andWhere('id', op, cursor.id)));
      offset = cursor.position;
    } else page.offset(offset);
    page.orderBy([{ column, order }, { column: 'id', order }]);
  }
  const rows = (await decorate(page.limit(limit + 1))) as InvitationRow[];
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  let nextCursor: string | null = null;
  if (rows.length > limit && last) {
    nextCursor =
      sort === 'status'
        ? encodeCursor({ offset: offset + limit })
        : encodeCursor({ sort, order, value: last[SORT_COLUMNS[sort]] as string | number, id: last.id, position: offset + limit });
  }
  const view = (row: InvitationRow): Invitation => {
    const invitation = toInvitation(row, now);
    return query.withTokens && invitation.status === 'pending' ? { ...invitation, token: ctx.links.tokenFor(row.token_nonce) } : invitation;
  };
  return { rows: items, list: { invitations: items.map(view), limit, offset, nextCursor } };
}

/** How many invitations a status filter matches, as SQL over the tallies (kept by triggers). */
function totalSql(status: StatusFilter, now: number): { sql: string; bindings: number[] } {
  const tally = (which: string) => `(SELECT COALESCE(sum(n), 0) FROM invitation_tallies WHERE ${which})`;
  const live = `(SELECT count(*) FROM invitations WHERE status = 'pending' AND expires_at > ?)`;
  switch (status) {
    case 'pending':
      return { sql: live, bindings: [now] };
    case 'expired':
      return { sql: `(${tally("status = 'pending'")} - ${live})`, bindings: [now] };
    case 'open':
      return { sql: tally("status IN ('pending', 'awaiting')"), bindings: [] };
    case 'awaiting_approval':
      return { sql: tally("status = 'awaiting'"), bindings: [] };
    case 'accepted':
      return { sql: tally("status = 'accepted'"), bindings: [] };
    case 'revoked':
      return { sql: tally("status = 'revoked'"), bindings: [] };
    default:
      return { sql: tally('true'), bindings: [] };
  }
}

async function countAlone(ctx: InvitesContext, total: { sql: string; bindings: number[] }): Promise<number> {
  const result = (await ctx.db.raw(`SELECT ${total.sql} AS n`, total.bindings)) as { rows?: Array<{ n: number | string }> } | Array<{ n: number | string }>;
  const rows = Array.isArray(result) ? result : (result.rows ?? []);
  return Number(rows[0]?.n ?? 0);
}

/** Whether a filter shows more than one status (and so a sort by status ranks its rows). */
function mixesStatuses(status: StatusFilter): boolean {
  return status === 'open' || status === 'all';
}

/**
 * The index a page walks, in the page's order. SQLite's planner has chosen others as its version and
 * the table's other indexes changed, sorting every matching row of a large table (docs/benchmarks.md), so
 * on SQLite the page names it with INDEXED BY, SQLite's guard for the plan of a time-sensitive
 * statement. PostgreSQL plans these from its statistics. Sorting open or all invitations by status,
 * or all of them by expiry, has no index: those sort.
 */
function pageIndex(status: StatusFilter, sort: SortKey): string | undefined {
  if (sort === 'status') return mixesStatuses(status) ? undefined : 'invitations_status_created';
  if (status === 'all') return { created: 'invitations_created', email: 'invitations_email', expires: undefined }[sort];
  if (status === 'open') return { created: 'invitations_open_created', email: 'invitations_one_open_per_email', expires: undefined }[sort];
  return { created: 'invitations_status_created', email: 'invitations_status_email', expires: 'invitations_status_expires' }[sort];
}

/**
 * The list's filter. `index`: the index the page names on SQLite (see pageIndex). `expiryIndexed:
 * false` writes the expiry check with a unary plus, which no index serves, so PostgreSQL's planner
 * too walks the page's order instead of reading every live or expired row through the expiry
 * index and sorting them; it changes nothing else.
 */
function filtered(db: Db, query: ListQuery, now: number, options: { expiryIndexed?: boolean; index?: string } = {}): Knex.QueryBuilder<InvitationRow, InvitationRow[]> {
  const table = options.index && !isPostgres(db) ? db.raw('?? INDEXED BY ??', ['invitations', options.index]) : 'invitations';
  const q = db<InvitationRow, InvitationRow[]>(table);
  const expiry = options.expiryIndexed === false ? '+expires_at' : 'expires_at';
  switch (query.status ?? 'all') {
    case 'pending':
      q.where({ status: 'pending' }).whereRaw(`${expiry} > ?`, [now]);
      break;
    case 'expired':
      q.where({ status: 'pending' }).whereRaw(`${expiry} <= ?`, [now]);
      break;
    case 'open':
      // Written out, not bound, so both databases match it to the partial index of open invitations.
      q.whereRaw("status IN ('pending', 'awaiting')");
      break;
    case 'awaiting_approval':
      q.where({ status: 'awaiting' });
      break;
    case 'accepted':
      q.where({ status: 'accepted' });
      break;
    case 'revoked':
      q.where({ status: 'revoked' });
      break;
    case 'all':
      break;
    default:
      throw new InvalidInput(`Unknown status "${String(query.status)}"; use pending, expired, awaiting_approval, open, accepted, revoked or all.`, 'status');
  }
  // NUL is no character of an address, and PostgreSQL refuses it in text.
  const search = query.search?.replace(/\u0000/g, '').trim().toLowerCase();
  if (search) {
    if (search.length > 320) throw new InvalidInput('The search text is too long.', 'search');
    const stored = asStored(search);
    if (stored) {
      q.where((either) => {
        containsText(either, 'email', search);
        containsText(either, 'email', stored, { or: true });
      });
    } else containsText(q, 'email', search);
  }
  return q;
}

/**
 * Invitations per shown status. Stored statuses come from `invitation_tallies` (kept by triggers,
 * see its migration); live pending ones are counted (at most as many as were sent within one TTL),
 * and the rest of pending is expired. One statement, so one snapshot.
 */
export async function countByStatus(ctx: Pick<InvitesContext, 'db' | 'clock'>): Promise<StatusCounts> {
  const now = ctx.clock.now();
  const rows = (await ctx.db('invitation_tallies').select(
    'status',
    'n',
    ctx.db.raw(`(SELECT count(*) FROM invitations WHERE status = 'pending' AND expires_at > ?) AS live`, [now]),
  )) as Array<{ status: string; n: number | string; live: number | string }>;
  const counts: StatusCounts = { pending: 0, expired: 0, accepted: 0, revoked: 0, awaiting_approval: 0, all: 0 };
  for (const row of rows) {
    const n = Number(row.n);
    counts.all += n;
    if (row.status === 'pending') {
      const live = Number(row.live);
      counts.pending += live;
      counts.expired += n - live;
    } else if (row.status === 'awaiting') counts.awaiting_approval += n;
    else if (row.status === 'accepted' || row.status === 'revoked') counts[row.status] += n;
  }
  return counts;
}

/** Several invitations by id, in the order asked for; ids that do not exist are left out. */
export async function invitationsByIds(ctx: Pick<InvitesContext, 'db' | 'clock'>, ids: readonly string[]): Promise<Invitation[]> {
  const now = ctx.clock.now();
  const byId = new Map<string, Invitation>();
  for (const chunk of chunked(ids, 400)) {
    for (const row of await ctx.db<InvitationRow>('invitations').whereIn('id', chunk)) byId.set(row.id, toInvitation(row, now));
  }
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/** How far the emails of a batch got: of `total` invitations, how many were sent or are failing. */
export async function deliveryProgress(ctx: Pick<InvitesContext, 'db'>, invitationIds: readonly string[]): Promise<DeliveryProgress> {
  const progress: DeliveryProgress = { total: invitationIds.length, sent: 0, failing: 0 };
  for (const ids of chunked(invitationIds, 400)) {
    const rows = (await ctx.db('invitations').whereIn('id', ids).select('delivery_state').count({ n: '*' }).groupBy('delivery_state')) as Array<{ delivery_state: string; n: number | string }>;
    for (const row of rows) {
      if (row.delivery_state === 'sent') progress.sent += Number(row.n);
      if (row.delivery_state === 'failing') progress.failing += Number(row.n);
    }
  }
  return progress;
}
