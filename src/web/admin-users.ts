import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { MEMBER_ORDERS, MAX_MEMBERS_PAGE, type MemberOrder } from '../members/listing.js';
import { ROLES } from '../members/roles.js';
import type { Member, MembersService } from '../members/service.js';
import { parseMoment, toIso } from '../shared/clock.js';
import { HttpError } from './errors.js';
import { text, validate } from './validate.js';

/** A moment as Medusa's date filters take it (ISO 8601), in epoch ms. */
const moment = text(64).transform((value, ctx) => {
  const at = parseMoment(value);
  if (Number.isNaN(at)) ctx.addIssue({ code: 'custom', message: `"${value}" is not a date (use ISO 8601, e.g. 2026-01-31T00:00:00Z)` });
  return at;
});
const momentRange = z.object({ lt: moment.optional(), lte: moment.optional(), gt: moment.optional(), gte: moment.optional() }).strict();
const USER_FIELDS = ['id', 'email', 'first_name', 'last_name', 'role', 'api_token', 'created_at', 'updated_at', 'deleted_at', 'metadata', 'state'] as const;
/** Medusa v1's user listing query: its filters, order, field selection and paging. */
const listUsers = z
  .object({
    q: text(320).optional(),
    id: z.union([text(100), z.array(text(100)).max(MAX_MEMBERS_PAGE)]).optional(),
    email: text(320).optional(),
    first_name: text(200).optional(),
    last_name: text(200).optional(),
    role: z.union([z.enum(ROLES), z.array(z.enum(ROLES)).max(ROLES.length)]).optional(),
    created_at: momentRange.optional(),
    updated_at: momentRange.optional(),
    // No member is ever deleted (they are deactivated): a filter on deletion matches none.
    deleted_at: momentRange.optional(),
    // Doorman's own: deactivated members are listed only when asked for (Medusa lists no deleted user).
    state: z.enum(['active', 'deactivated']).optional(),
    order: z.enum(MEMBER_ORDERS.flatMap((column) => [column, `-${column}`] as const) as [string, ...string[]]).optional(),
    fields: z
      .string()
      .max(500)
      .transform((value) => value.split(',').map((field) => field.trim()).filter(Boolean))
      .pipe(z.array(z.enum(USER_FIELDS, { message: `unknown field; the fields are ${USER_FIELDS.join(', ')}` })))
      .optional(),
    // Members have no relations to expand.
    expand: text(500).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_MEMBERS_PAGE).optional(),
    offset: z.coerce.number().int().min(0).optional(),
  })
  .strict();
/** A member as Medusa v1 returns a user, plus Doorman's state. */
export function medusaUser(member: Member) {
  return {
    id: member.id,
    email: member.email,
    first_name: member.firstName,
    last_name: member.lastName,
    role: member.role,
    // Stored hashed only: it was shown once when issued and cannot be shown again.
    api_token: null,
    created_at: toIso(member.createdAt),
    updated_at: toIso(member.updatedAt),
    deleted_at: null,
    metadata: null,
    state: member.state,
  };
}

/** `GET /admin/users`: Medusa v1's user listing, its filters included; `GET /admin/users/:id`: one user. */
export function userRoutes(
  router: Router,
  deps: {
    members: MembersService;
    wrap(handler: (req: Request, res: Response) => Promise<unknown>): (req: Request, res: Response, next: (e?: unknown) => void) => void;
    /** Member: Manage. In Medusa every user is staff; here members are the product's users, who may not read the directory. */
    manage: (req: Request, res: Response, next: (e?: unknown) => void) => void;
  },
): void {
  router.get('/users', deps.manage, deps.wrap(async (req, res) => {
    const query = validate(listUsers, req.query);
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const ordered = query.order?.replace(/^-/, '') as MemberOrder | undefined;
    const result = query.deleted_at
      ? { members: [], total: 0 }
      : await deps.members.list({
          search: query.q,
          ids: query.id === undefined ? undefined : [query.id].flat(),
          email: query.email,
          firstName: query.first_name,
          lastName: query.last_name,
          roles: query.role === undefined ? undefined : [query.role].flat(),
          created: query.created_at,
          updated: query.updated_at,
          state: query.state ?? 'active',
          // Medusa's default order: the newest first.
          orderBy: ordered ?? 'created_at',
          descending: query.order ? query.order.startsWith('-') : true,
          limit,
          offset,
        });
    // With `fields`, each user holds those and its id, as Medusa selects them.
    const shown = (user: ReturnType<typeof medusaUser>) => (query.fields ? Object.fromEntries(Object.entries(user).filter(([key]) => key === 'id' || query.fields!.includes(key as never))) : user);
    res.json({ users: result.members.map((member) => shown(medusaUser(member))), count: result.total, offset, limit });
  }));
  router.get('/users/:id', deps.manage, deps.wrap(async (req, res) => {
    const id = String(req.params.id);
    const member = id.length <= 100 ? await deps.members.find(id) : undefined;
    // Medusa's words for an unknown id; a deactivated member is found, with its state.
    if (!member) throw new HttpError(404, 'not_found', `User with id: ${id.slice(0, 100)} was not found`);
    res.json({ user: medusaUser(member) });
  }));
}
