import type { Knex } from 'knex';
import { containsText, type Db } from '../db/index.js';
import { asStored, normalizeEmail } from '../invites/email-list.js';
import type { Role } from './roles.js';
import { toMember, type Member, type MemberRow, type MemberState } from './model.js';

/** The most members one page of a listing holds. */
export const MAX_MEMBERS_PAGE = 1000;

/** The columns a listing may be ordered by (Medusa's `order`, with `-` for descending). */
export const MEMBER_ORDERS = ['email', 'first_name', 'last_name', 'role', 'created_at', 'updated_at', 'id'] as const;
export type MemberOrder = (typeof MEMBER_ORDERS)[number];

/** A range of moments (epoch ms), each bound optional, as Medusa's date filters give them. */
export interface MomentRange {
  lt?: number;
  lte?: number;
  gt?: number;
  gte?: number;
}

export interface MemberQuery {
  state?: MemberState;
  /** Part of the email, first or last name, in any case (on SQLite, letters outside ASCII in their case as typed). */
  search?: string;
  ids?: readonly string[];
  /** The whole address, in any case. */
  email?: string;
  firstName?: string;
  lastName?: string;
  roles?: readonly Role[];
  created?: MomentRange;
  updated?: MomentRange;
  orderBy?: MemberOrder;
  descending?: boolean;
  limit?: number;
  offset?: number;
}

const RANGE_OPERATORS = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

/** One page of members matching the query (by email unless ordered otherwise), and how many match in all. */
export async function listMembers(db: Db, query: MemberQuery = {}): Promise<{ members: Member[]; total: number }> {
  // NUL is in no stored text, and PostgreSQL refuses it in a binding.
  const clean = (value: string) => value.replace(/\u0000/g, '');
  const base = db<MemberRow>('members').modify((q: Knex.QueryBuilder) => {
    if (query.state) q.where({ state: query.state });
    if (query.roles) q.whereIn('role', query.roles);
    if (query.ids) q.whereIn('id', query.ids.map(clean));
    if (query.email !== undefined) {
      // As addresses are stored (a domain in its own letters in ASCII form); what is no address is matched as typed.
      const typed = normalizeEmail(clean(query.email));
      q.where({ email: 'email' in typed ? typed.email : clean(query.email).trim().toLowerCase() });
    }
    if (query.firstName !== undefined) q.where({ first_name: clean(query.firstName) });
    if (query.lastName !== undefined) q.where({ last_name: clean(query.lastName) });
    for (const [column, range] of [['created_at', query.created], ['updated_at', query.updated]] as const) {
      for (const [bound, operator] of Object.entries(RANGE_OPERATORS)) {
        const at = range?.[bound as keyof MomentRange];
        if (at !== undefined) q.where(column, operator, at);
      }
    }
    const search = query.search === undefined ? '' : clean(query.search).trim();
    // SQLite's lower() folds ASCII only: a name is also matched as typed, so "Émile" finds Émile there.
    if (search) {
      const stored = asStored(search.toLowerCase());
      q.where((any) => {
        any.orWhere((one) => containsText(one, 'email', search));
        if (stored) any.orWhere((one) => containsText(one, 'email', stored));
        for (const column of ['first_name', 'last_name']) {
          any.orWhere((one) => containsText(one, `lower(${column})`, search)).orWhere((one) => containsText(one, column, search, { fold: false }));
        }
      });
    }
  });
  const order = query.descending ? 'desc' : 'asc';
  const [rows, countRow] = await Promise.all([
    base
      .clone()
      .orderBy([{ column: query.orderBy ?? 'email', order }, ...(query.orderBy && query.orderBy !== 'id' ? [{ column: 'id', order }] : [])])
      .limit(Math.min(query.limit ?? 100, MAX_MEMBERS_PAGE))
      .offset(query.offset ?? 0),
    base.clone().count<{ n: number | string }[]>({ n: '*' }),
  ]);
  return { members: rows.map(toMember), total: Number(countRow[0]?.n ?? 0) };
}
