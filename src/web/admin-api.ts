import express, { Router, type Request, type Response } from 'express';
import type { RateLimitRequestHandler } from 'express-rate-limit';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { InvitesService } from '../invites/service.js';
import type { Invitation } from '../invites/model.js';
import { SHOWN_STATUSES } from '../invites/model.js';
import { ROLES } from '../members/roles.js';
import { can, type Member, type MembersService } from '../members/service.js';
import type { Actor } from '../shared/actor.js';
import { NotPermitted } from '../shared/errors.js';
import { declaredBodyLimit } from './body-limit.js';
import { currentMember, requireMember, type AdminAuth } from './auth.js';
import { HttpError, medusaErrorHandler } from './errors.js';
import { text, validate } from './validate.js';

export const ADMIN_BODY_LIMIT = '64kb';
const ADMIN_BODY_LIMIT_BYTES = 64 * 1024;

export interface AdminApiDeps {
  invites: InvitesService;
  members: MembersService;
  auth: AdminAuth;
  logger: Logger;
  /** Per-IP limits on sign-in and on accepting with a token. */
  credentialLimiter: RateLimitRequestHandler;
  /** Per-IP limit on refused authentications (token guessing). */
  authFailureLimiter?: RateLimitRequestHandler;
}

const credentials = z.object({ email: text(320), password: text(1024) }).strict();
const createInvite = z.object({ user: text(320), role: z.enum(ROLES) }).strict();
const acceptInvite = z
  .object({
    token: text(200).min(1, 'token should not be empty'),
    user: z.object({ first_name: text(200).optional(), last_name: text(200).optional(), password: text(1024) }).strict(),
  })
  .strict();
const listInvites = z
  .object({
    status: z.enum([...SHOWN_STATUSES, 'all', 'open']).optional(),
    q: text(320).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
    order: z.enum(['created_at', '-created_at', 'user_email', '-user_email', 'expires_at', '-expires_at']).optional(),
  })
  .strict();
const listUsers = z
  .object({ limit: z.coerce.number().int().min(1).max(1000).optional(), offset: z.coerce.number().int().min(0).optional() })
  .strict();
const emptyBody = z.object({}).strict();

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** An invitation as Medusa v1 returns it, plus Doorman's status and delivery state. */
export function medusaInvite(invitation: Invitation) {
  return {
    id: invitation.id,
    user_email: invitation.email,
    role: invitation.role,
    accepted: invitation.status === 'accepted',
    token: invitation.token ?? null,
    expires_at: iso(invitation.expiresAt),
    created_at: iso(invitation.createdAt),
    updated_at: iso(invitation.updatedAt),
    deleted_at: iso(invitation.revokedAt),
    metadata: invitation.metadata,
    status: invitation.status,
    delivery_state: invitation.delivery.state,
    delivery_error: invitation.delivery.error,
  };
}

export function medusaUser(member: Member) {
  return {
    id: member.id,
    email: member.email,
    first_name: member.firstName,
    last_name: member.lastName,
    role: member.role,
    // Stored hashed only: it was shown once when issued and cannot be shown again.
    api_token: null,
    created_at: iso(member.createdAt),
    updated_at: iso(member.updatedAt),
    deleted_at: null,
    metadata: null,
    state: member.state,
  };
}

function actorOf(member: Member): Actor {
  return { type: 'member', memberId: member.id, name: [member.firstName, member.lastName].filter(Boolean).join(' ') || member.email };
}

const ok = (res: Response) => res.status(200).type('text/plain').send('OK');

/** Medusa v1's admin Invites, Auth and Users routes over the domain services. */
export function adminApi(deps: AdminApiDeps): Router {
  const { invites, members, auth } = deps;
  const router = Router();
  router.use(declaredBodyLimit(ADMIN_BODY_LIMIT_BYTES, (res) => res.status(413).json({ type: 'invalid_data', message: 'The request body is too large.', code: 'payload_too_large' })));
  router.use(express.json({ limit: ADMIN_BODY_LIMIT, strict: true, type: () => true }));

  const wrap = (handler: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: (e?: unknown) => void) => {
    handler(req, res).catch(next);
  };

  // Without authentication.
  router.post('/auth', deps.credentialLimiter, wrap(async (req, res) => {
    const body = validate(credentials, req.body);
    const member = await members.verifyCredentials(body.email, body.password);
    await auth.startSession(res, member);
    res.json({ user: medusaUser(member) });
  }));
  router.post('/auth/token', deps.credentialLimiter, wrap(async (req, res) => {
    const body = validate(credentials, req.body);
    const member = await members.verifyCredentials(body.email, body.password);
    res.json({ access_token: await auth.issueBearer(member) });
  }));
  router.post('/invites/accept', deps.credentialLimiter, wrap(async (req, res) => {
    const body = validate(acceptInvite, req.body);
    await invites.accept({ token: body.token, firstName: body.user.first_name, lastName: body.user.last_name, password: body.user.password });
    ok(res);
  }));

  // Everything else needs a member; invitations need Member: Manage.
  if (deps.authFailureLimiter) router.use(deps.authFailureLimiter);
  router.use(requireMember(auth, (res) => res.status(401).json({ type: 'unauthorized', message: 'Sign in first: send x-medusa-access-token, a Bearer token or the session cookie.' })));
  const manage = (req: Request, res: Response, next: (e?: unknown) => void) => (can(currentMember(res), 'member:manage') ? next() : next(new NotPermitted('member:manage')));

  router.get('/auth', (_req, res) => {
    res.json({ user: medusaUser(currentMember(res)) });
  });
  router.delete('/auth', wrap(async (_req, res) => {
    await auth.endSession(res, currentMember(res));
    ok(res);
  }));
  router.get('/users', wrap(async (req, res) => {
    const query = validate(listUsers, req.query);
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const result = await members.list({ limit, offset });
    res.json({ users: result.members.map(medusaUser), count: result.total, offset, limit });
  }));

  router.post('/invites', manage, wrap(async (req, res) => {
    const body = validate(createInvite, req.body);
    const member = currentMember(res);
    await invites.inviteOne({ email: body.user, role: body.role, actor: actorOf(member), inviterName: actorOf(member).name });
    ok(res);
  }));
  router.get('/invites', manage, wrap(async (req, res) => {
    const query = validate(listInvites, req.query);
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    const order = query.order ?? '-created_at';
    const sort = order.replace(/^-/, '') === 'user_email' ? 'email' : order.replace(/^-/, '') === 'expires_at' ? 'expires' : 'created';
    // Medusa lists the invitations still open (accepted ones are deleted there); ask for more with ?status=.
    const status = query.status ?? 'open';
    const page = await invites.list({ status, limit, offset, sort, order: order.startsWith('-') ? 'desc' : 'asc', search: query.q, withTokens: true });
    res.json({ invites: page.invitations.map(medusaInvite), count: page.total, offset, limit });
  }));
  router.post('/invites/:id/resend', manage, wrap(async (req, res) => {
    validate(emptyBody, req.body);
    // Medusa's resend: a pending invitation is resent with the same link, an expired one gets a new one.
    await invites.resend(String(req.params.id), actorOf(currentMember(res)), { orSendNew: true });
    ok(res);
  }));
  router.delete('/invites/:id', manage, wrap(async (req, res) => {
    validate(emptyBody, req.body);
    const id = String(req.params.id);
    const current = await invites.get(id);
    // Deleting twice is not an error (as in Medusa); deleting an accepted invitation is refused.
    if (current.status !== 'revoked') await invites.revoke(id, actorOf(currentMember(res)));
    res.json({ id, object: 'invite', deleted: true });
  }));

  router.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'No such admin route.')));
  router.use(medusaErrorHandler(deps.logger));
  return router;
}
