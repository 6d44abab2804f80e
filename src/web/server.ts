import express, { type Express, type Request, type Response } from 'express';
import { rateLimit, type Options as RateLimitOptions } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { InvitesService } from '../invites/service.js';
import type { MembersService } from '../members/service.js';
import type { Clock } from '../shared/clock.js';
import { acceptPage } from './accept-page.js';
import { adminApi } from './admin-api.js';
import { AdminAuth } from './auth.js';
import { healthRoute, sharedHealthCheck } from './health.js';
import { problemPage } from './pages.js';

export interface RateLimits {
  /** Requests presenting an invitation token, per IP. */
  tokenLookups: { windowMs: number; limit: number };
  /** Accept-form submissions, per IP. */
  submissions: { windowMs: number; limit: number };
  /** Sign-ins and API accepts, per IP; the same number of refused authentications (401) per IP. */
  credentials: { windowMs: number; limit: number };
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  tokenLookups: { windowMs: 60_000, limit: 60 },
  submissions: { windowMs: 60_000, limit: 10 },
  credentials: { windowMs: 60_000, limit: 20 },
};

export interface WebDeps {
  db: Db;
  logger: Logger;
  clock: Clock;
  invites: InvitesService;
  members: MembersService;
  appSecret: string;
  publicUrl: string;
  orgName: string;
  rateLimits?: Partial<RateLimits>;
}

function limiter(settings: { windowMs: number; limit: number }, onLimit: RateLimitOptions['handler']) {
  return rateLimit({ ...settings, standardHeaders: 'draft-7', legacyHeaders: false, handler: onLimit });
}

/** The Express app: the accept page and the admin API; Slack mounts onto it too. */
export function createWebApp(deps: WebDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.get('/healthz', healthRoute(sharedHealthCheck(() => deps.db.raw('select 1')), deps.logger));
  const limits = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits };

  const tooManyPage = (_req: Request, res: Response) =>
    res.status(429).type('html').send(problemPage('Too many attempts', 'There were too many requests from your network in a short time.', 'Wait a minute, then try again.'));
  app.use(
    acceptPage({
      invites: deps.invites,
      orgName: deps.orgName,
      logger: deps.logger,
      tokenLimiter: limiter(limits.tokenLookups, tooManyPage),
      submitLimiter: limiter(limits.submissions, tooManyPage),
    }),
  );

  const tooManyJson = (_req: Request, res: Response) => res.status(429).json({ type: 'not_allowed', message: 'Too many attempts; wait a minute and try again.', code: 'rate_limited' });
  const auth = new AdminAuth(deps.appSecret, deps.members, deps.clock, deps.publicUrl.startsWith('https:'));
  app.use(
    '/admin',
    adminApi({
      invites: deps.invites,
      members: deps.members,
      auth,
      logger: deps.logger,
      credentialLimiter: limiter(limits.credentials, tooManyJson),
      // Guessing API tokens, bearer tokens or cookies: only refused authentications (401) count.
      authFailureLimiter: rateLimit({ ...limits.credentials, standardHeaders: 'draft-7', legacyHeaders: false, handler: tooManyJson, skipSuccessfulRequests: true, requestWasSuccessful: (_req, res) => res.statusCode !== 401 }),
    }),
  );
  return app;
}
