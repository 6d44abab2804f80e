import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { InvitesService } from '../invites/service.js';
import { MAX_PAGE, type ListQuery } from '../invites/list.js';
import type { Invitation } from '../invites/model.js';
import { hadEmail, SHOWN_STATUSES } from '../invites/model.js';
import { PASSWORD_MAX, passwordProblem } from '../members/passwords.js';
import { ROLES } from '../members/roles.js';
import { can, memberActor, type MembersService } from '../members/service.js';
import { toIso } from '../shared/clock.js';
import { InvalidCredentials, NotPermitted, UnknownToken } from '../shared/errors.js';
import { clientKey, type FailureLimits } from './failure-limits.js';
import { normalizeEmail } from '../invites/email-list.js';
import { declaredBodyLimit } from './body-limit.js';
import { authMethod, currentMember, requireMember, type AdminAuth } from './auth.js';
import { waitWords } from '../shared/errors.js';
import { HttpError, medusaErrorHandler } from './errors.js';
import { text, validate } from './validate.js';
import { approvalRoutes } from './admin-approvals.js';
import { medusaUser, userRoutes } from './admin-users.js';

export const ADMIN_BODY_LIMIT = '64kb';
const ADMIN_BODY_LIMIT_BYTES = 64 * 1024;

export interface AdminApiDeps {
  invites: InvitesService;
  members: MembersService;
  auth: AdminAuth;
  logger: Logger;
  /** Before a POST that does something: the rule "Idempotency-Key" (see idempotency.ts). */
  once: RequestHandler;
  /** PUBLIC_URL's origin: the only one whose pages may change anything with a session cookie. */
  publicOrigin: string;
  /** Invitation links that match nothing, per client address. */
  tokenFailures: FailureLimits;
  /** Wrong passwords, per account, and per account from one client address. */
  passwordFailures: FailureLimits;
  /** Wrong passwords per client address, whatever the account. */
  passwordAddressFailures: FailureLimits;
  /** Refused API tokens, Bearer tokens and session cookies, per client address. */
  authFailures: FailureLimits;
}

/** Passwords: at most PASSWORD_MAX characters, counted as the domain counts them (an emoji is one). */
const password = z.string().refine((value) => passwordProblem(value) !== 'too_long', `must be at most ${PASSWORD_MAX} characters`);
const credentials = z.object({ email: text(320), password }).strict();
/** Medusa's create body, with two documented Doorman extensions: the expiry in days and a personal message (its limits are the domain's, checked there). */
const createInvite = z.object({ user: text(320), role: z.enum(ROLES), expires_in_days: z.number().int().optional(), message: z.string().optional() }).strict();
const acceptInvite = z
  .object({
    token: text(200).min(1, 'token should not be empty'),
    // Names are checked by the domain (the rule "Accept"), as every door's are.
    user: z.object({ first_name: text(200).optional(), last_name: text(200).optional(), password }).strict(),
  })
  .strict();
const listInvites = z
  .object({
    status: z.enum([...SHOWN_STATUSES, 'all', 'open']).optional(),
    q: text(320).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
    offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
    order: z.enum(['created_at', '-created_at', 'user_email', '-user_email', 'expires_at', '-expires_at']).optional(),
  })
  .strict();
const emptyBody = z.object({}).strict();
/** The most invitations one answer without `limit` holds (far more than an organization keeps open). */
const UNPAGED_INVITES = 10_000;

/** An invitation as Medusa v1 returns it, plus Doorman's status and delivery state. */
export function medusaInvite(invitation: Invitation) {
  const mailed = hadEmail(invitation);
  return {
    id: invitation.id,
    user_email: invitation.email,
    role: invitation.role,
    accepted: invitation.status === 'accepted',
    token: invitation.token ?? null,
    expires_at: toIso(invitation.expiresAt),
    created_at: toIso(invitation.createdAt),
    updated_at: toIso(invitation.updatedAt),
    deleted_at: toIso(invitation.revokedAt),
    metadata: invitation.metadata,
    status: invitation.status,
    delivery_state: mailed ? invitation.delivery.state : null,
    delivery_error: mailed ? invitation.delivery.error : null,
    message: invitation.message,
    // Doorman's extension for the rule "Policy": why it was held, and who decided.
    approval: invitation.approval
      ? {
          reasons: invitation.approval.reasons,
          decision: invitation.approval.decision,
          decided_at: toIso(invitation.approval.decidedAt),
          decided_by: invitation.approval.decidedByName,
          deny_reason: invitation.approval.denyReason,
          // The invitations held by the same inviting action share it (Slack shows them as one request).
          request_id: invitation.approval.requestId,
        }
      : null,
  };
}

const ok = (res: Response) => res.status(200).type('text/plain').send('OK');

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A request that changes something sends its body as JSON, or no body at all. A form or text/plain
 * body is what a page on another site can send with the admin's cookie and no preflight.
 */
function jsonOnly(req: Request, _res: Response, next: NextFunction): void {
  if (!CHANGING.has(req.method)) return next();
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  // The declared type is read from the header itself: req.is() answers null for a request without a
  // body, which would refuse a bodiless DELETE that says it is JSON, as many clients send.
  const type = req.get('content-type')?.split(';')[0]!.trim().toLowerCase();
  if ((hasBody || type) && type !== 'application/json') {
    return next(new HttpError(415, 'invalid_data', 'Send the body as JSON (Content-Type: application/json).', 'unsupported_media_type'));
  }
  next();
}

/**
 * With a session cookie (a browser), a change must come from Doorman's own origin: a request a
 * browser marks as coming from another site, or from another origin (a sibling subdomain is
 * "same-site" but another origin), is refused. API and Bearer tokens are never sent by a browser
 * on its own, so they are not asked.
 */
function refuseCrossSite(publicOrigin: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!CHANGING.has(req.method)) return next();
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    if ((site !== undefined && site !== 'same-origin' && site !== 'none') || (origin !== undefined && origin !== publicOrigin)) {
      return next(new HttpError(403, 'not_allowed', 'Changes with a session cookie are taken only from Doorman\'s own pages.', 'cross_site'));
    }
    next();
  };
}

const tooMany = (res: Response, retryAfterS: number) =>
  res.status(429).set('Retry-After', String(retryAfterS)).json({ type: 'not_allowed', message: `Too many attempts; try again in ${waitWords(retryAfterS)}.`, code: 'rate_limited' });

/** Medusa v1's admin Invites, Auth and Users routes over the domain services. */
export function adminApi(deps: AdminApiDeps): Router {
  const { invites, members, auth } = deps;
  const router = Router();
  // Answers carry bearer and invitation tokens: no cache, shared or private, keeps one.
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  router.use(declaredBodyLimit(ADMIN_BODY_LIMIT_BYTES, (res) => res.status(413).json({ type: 'invalid_data', message: 'The request body is too large.', code: 'payload_too_large' })));
  router.use(jsonOnly);
  router.use(express.json({ limit: ADMIN_BODY_LIMIT, strict: true }));

  const wrap = (handler: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: (e?: unknown) => void) => {
    handler(req, res).catch(next);
  };

  /**
   * A password check. Each attempt counts against the client's address and the account from that
   * address before the password is checked, and is given back when it was right: an address over
   * either budget is refused unchecked, else a 429 would only stand for "wrong", the refused guesses
   * would still fill the hash queue, and a burst sent at once would all pass the count. A wrong
   * password also counts against the account (all addresses), which only turns its 401 into 429:
   * guessers elsewhere never lock the owner out.
   */
  const signIn = async (req: Request, res: Response) => {
    const body = validate(credentials, req.body);
    const normalized = normalizeEmail(body.email);
    const account = `email:${'email' in normalized ? normalized.email : body.email.slice(0, 320)}`;
    const address = clientKey(req);
    const fromAddress = `${address} ${account}`;
    const early = [await deps.passwordAddressFailures.failed([address]), await deps.passwordFailures.failed([fromAddress])].find((answer) => answer.limited);
    if (early) return void tooMany(res, early.retryAfterS);
    try {
      const member = await members.verifyCredentials(body.email, body.password);
      await deps.passwordAddressFailures.givenBack([address]);
      await deps.passwordFailures.succeeded([account, fromAddress]);
      return member;
    } catch (error) {
      if (!(error instanceof InvalidCredentials)) {
        // Not judged (too busy hashing, the database out of reach): the attempt is given back.
        await deps.passwordAddressFailures.givenBack([address]);
        await deps.passwordFailures.givenBack([fromAddress]);
        throw error;
      }
      const byAccount = await deps.passwordFailures.failed([account]);
      if (byAccount.limited) tooMany(res, byAccount.retryAfterS);
      else throw error;
      return undefined;
    }
  };

  // Without authentication.
  router.post('/auth', refuseCrossSite(deps.publicOrigin), wrap(async (req, res) => {
    const member = await signIn(req, res);
    if (!member) return;
    await auth.startSession(res, member);
    res.json({ user: medusaUser(member) });
  }));
  router.post('/auth/token', wrap(async (req, res) => {
    const member = await signIn(req, res);
    if (!member) return;
    res.json({ access_token: await auth.issueBearer(member) });
  }));
  router.post('/invites/accept', deps.once, wrap(async (req, res) => {
    const body = validate(acceptInvite, req.body);
    try {
      await invites.accept({ token: body.token, firstName: body.user.first_name, lastName: body.user.last_name, password: body.user.password });
    } catch (error) {
      if (!(error instanceof UnknownToken)) throw error;
      const { limited, retryAfterS } = await deps.tokenFailures.failed([clientKey(req)]);
      if (!limited) throw error;
      return void tooMany(res, retryAfterS);
    }
    ok(res);
  }));

  // A browser's CORS preflight carries no credentials: answered, without CORS headers (the admin API
  // serves its own origin and server-side clients), and never counted as a failed sign-in.
  router.use((req, res, next) => (req.method === 'OPTIONS' ? void res.status(204).set('Allow', 'GET, POST, DELETE').end() : next()));

  // Medusa's password reset by email, which medusa-js calls signed out: Doorman has none (an admin
  // sends a new invitation), said plainly rather than as "sign in first".
  router.post(['/users/password-token', '/users/reset-password'], (_req, _res, next) => next(new HttpError(404, 'not_found', 'Doorman has no password reset by email: ask an admin to send you a new invitation.')));

  // Everything else needs a member; invitations need Member: Manage. A valid credential always
  // gets in; a wrong one counts against the client's address (none at all guesses nothing).
  router.use(
    requireMember(auth, async (req, res) => {
      const { limited, retryAfterS } = auth.presentsCredential(req) ? await deps.authFailures.failed([clientKey(req)]) : { limited: false, retryAfterS: 0 };
      if (limited) return void tooMany(res, retryAfterS);
      res.status(401).json({ type: 'unauthorized', message: 'Sign in first: send x-medusa-access-token, a Bearer token or the session cookie.' });
    }),
  );
  router.use((req, res, next) => (authMethod(res) === 'cookie' ? refuseCrossSite(deps.publicOrigin)(req, res, next) : next()));
  const manage = (req: Request, res: Response, next: (e?: unknown) => void) => (can(currentMember(res), 'member:manage') ? next() : next(new NotPermitted('member:manage')));

  router.get('/auth', (_req, res) => {
    res.json({ user: medusaUser(currentMember(res)) });
  });
  router.delete('/auth', wrap(async (_req, res) => {
    // A script signed in by API token (medusa-js's deleteSession at its end) has no session to end;
    // ending the member's would sign its human out of every browser.
    if (authMethod(res) !== 'api_token') await auth.endSession(res, currentMember(res));
    ok(res);
  }));
  userRoutes(router, { members, wrap, manage });

  router.post('/invites', manage, deps.once, wrap(async (req, res) => {
    const body = validate(createInvite, req.body);
    const actor = memberActor(currentMember(res));
    await invites.inviteOne({ email: body.user, role: body.role, actor, inviterName: actor.name, expiresInDays: body.expires_in_days, message: body.message });
    ok(res);
  }));
  router.get('/invites', manage, wrap(async (req, res) => {
    const query = validate(listInvites, req.query);
    const offset = query.offset ?? 0;
    const order = query.order ?? '-created_at';
    const sort = order.replace(/^-/, '') === 'user_email' ? 'email' : order.replace(/^-/, '') === 'expires_at' ? 'expires' : 'created';
    // Medusa lists the invitations still open (accepted ones are deleted there); ask for more with ?status=.
    const status = query.status ?? 'open';
    const listed: ListQuery = { status, sort, order: order.startsWith('-') ? ('desc' as const) : ('asc' as const), search: query.q, withTokens: true };
    if (query.limit !== undefined) {
      const page = await invites.list({ ...listed, limit: query.limit, offset });
      return void res.json({ invites: page.invitations.map(medusaInvite), count: page.total, offset, limit: query.limit });
    }
    // medusa-js's list() sends no query and expects every invitation (Medusa pages nothing): without
    // a limit they all come, up to UNPAGED_INVITES; `count` says how many match.
    const all = await invites.listAll({ ...listed, offset }, UNPAGED_INVITES);
    res.json({ invites: all.invitations.map(medusaInvite), count: all.total, offset, limit: all.invitations.length });
  }));
  router.post('/invites/:id/resend', manage, deps.once, wrap(async (req, res) => {
    validate(emptyBody, req.body);
    // Medusa's resend: a pending invitation is resent with the same link, an expired one gets a new one.
    await invites.resend(String(req.params.id), memberActor(currentMember(res)), { orRenew: true });
    ok(res);
  }));
  router.delete('/invites/:id', manage, wrap(async (req, res) => {
    validate(emptyBody, req.body);
    const id = String(req.params.id);
    // Deleting twice is not an error (as in Medusa); deleting an accepted invitation is refused.
    await invites.revokeIfOpen(id, memberActor(currentMember(res)));
    res.json({ id, object: 'invite', deleted: true });
  }));

  approvalRoutes(router, { invites, present: medusaInvite, wrap, once: deps.once });

  router.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'No such admin route.')));
  router.use(medusaErrorHandler(deps.logger));
  return router;
}
