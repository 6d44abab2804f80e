import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { MetricsAccess } from '../config.js';
import type { Db } from '../db/index.js';
import type { InvitesService } from '../invites/service.js';
import type { MembersService } from '../members/service.js';
import { httpMetrics } from '../metrics/http.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Clock } from '../shared/clock.js';
import { acceptPage } from './accept-page.js';
import { ANYONE, idempotent } from './idempotency.js';
import { adminApi } from './admin-api.js';
import { AdminAuth } from './auth.js';
import { healthRoute, sharedHealthCheck } from './health.js';
import { FailureLimits, type FailureBudget } from './failure-limits.js';
import { metricsRoute } from './metrics-route.js';

export interface RateLimits {
  /** Invitation links that match nothing, per client address. */
  tokenFailures: FailureBudget;
  /** Wrong passwords, per account, and per account from one client address. */
  passwordFailures: FailureBudget;
  /** Wrong passwords per client address, whatever the account (one address trying many). */
  passwordAddressFailures: FailureBudget;
  /** Refused API tokens, Bearer tokens and session cookies, per client address. */
  authFailures: FailureBudget;
  /** Requests for a new invitation from expired pages, per client address. */
  renewalRequests: FailureBudget;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  tokenFailures: { windowMs: 60_000, limit: 30 },
  passwordFailures: { windowMs: 15 * 60_000, limit: 10 },
  passwordAddressFailures: { windowMs: 15 * 60_000, limit: 50 },
  authFailures: { windowMs: 60_000, limit: 30 },
  renewalRequests: { windowMs: 60 * 60_000, limit: 10 },
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
  /** SIGN_IN_URL, linked from the welcome and from the pages of a used link or an existing member. */
  signInUrl?: string;
  rateLimits?: Partial<RateLimits>;
  /** Which proxies' X-Forwarded-For to believe (TRUST_PROXY), as Express's `trust proxy` takes it. */
  trustProxy: boolean | number | string;
  /** With METRICS on: requests are timed and GET /metrics exists. */
  metrics?: { metrics: Metrics; access: MetricsAccess };
}

/**
 * Says once, at the first request carrying X-Forwarded-For from a peer TRUST_PROXY does not
 * believe, that every client behind it counts as that one address: a proxy on another host left
 * at the default makes one guesser's wrong passwords refuse everyone's sign-in for a while.
 */
export function warnOfUntrustedForwarding(logger: Logger): (req: Request, res: Response, next: NextFunction) => void {
  let warned = false;
  return (req, _res, next) => {
    if (!warned && req.headers['x-forwarded-for'] !== undefined && req.ip === req.socket.remoteAddress) {
      warned = true;
      logger.warn({ peer: req.socket.remoteAddress }, 'X-Forwarded-For came from a peer TRUST_PROXY does not trust: if it is your proxy, every client behind it counts as this one address for the failure limits (one guesser can then refuse everyone\'s sign-in); set TRUST_PROXY (docs/security.md)');
    }
    next();
  };
}

/**
 * The Express app: the accept page and the admin API (and /metrics when on); Slack mounts onto it
 * too. `close()` stops the failure counters' timers once the server is closed.
 */
export function createWebApp(deps: WebDeps): { app: Express; close(): void } {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.use(warnOfUntrustedForwarding(deps.logger));
  // Nested query parameters (`created_at[gt]=…`, `id[0]=…`), as medusa-js writes them (qs) and Medusa reads them.
  app.set('query parser', 'extended');
  if (deps.metrics) {
    app.use(httpMetrics(deps.metrics.metrics));
    app.get('/metrics', metricsRoute(deps.metrics.metrics, deps.metrics.access, deps.logger));
  }
  app.get('/healthz', healthRoute(sharedHealthCheck(() => deps.db.raw('select 1')), deps.logger));
  const limits = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits };
  // One counter per kind of failure, shared by the routes that see it (`links`: the accept page's
  // form and the API's accept), and stopped with the app.
  const failures = {
    links: new FailureLimits(limits.tokenFailures),
    renewalRequests: new FailureLimits(limits.renewalRequests),
    passwords: new FailureLimits(limits.passwordFailures),
    passwordAddresses: new FailureLimits(limits.passwordAddressFailures),
    auth: new FailureLimits(limits.authFailures),
  };
  app.use(acceptPage({ invites: deps.invites, orgName: deps.orgName, signInUrl: deps.signInUrl, logger: deps.logger, tokenFailures: failures.links, renewalRequests: failures.renewalRequests }));
  const auth = new AdminAuth(deps.appSecret, deps.members, deps.clock, new URL(deps.publicUrl).protocol === 'https:');
  app.use(
    '/admin',
    adminApi({
      invites: deps.invites,
      members: deps.members,
      auth,
      logger: deps.logger,
      once: idempotent(deps.db, deps.clock, deps.logger, (res) => (res.locals.member as { id: string } | undefined)?.id ?? ANYONE),
      publicOrigin: new URL(deps.publicUrl).origin,
      tokenFailures: failures.links,
      passwordFailures: failures.passwords,
      passwordAddressFailures: failures.passwordAddresses,
      authFailures: failures.auth,
    }),
  );
  return { app, close: () => Object.values(failures).forEach((limit) => limit.shutdown()) };
}
