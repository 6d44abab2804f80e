import type { Request, RequestHandler } from 'express';
import type { Metrics } from './metrics.js';

/**
 * Times every HTTP request into `doorman_http_request_duration_seconds`, labelled by the route
 * PATTERN that answered it (`/admin/invites/:id/resend`), never the path asked for: a path or
 * query can carry an email address or a token, and would give every request a series of its own.
 * Mounted first, so it sees every request, Slack's included.
 */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    // 'close' comes for every response, also one the client gave up on before it was sent (499, as nginx logs it).
    res.once('close', () => end({ route: routePattern(req), method: req.method, status: res.writableFinished ? String(res.statusCode) : '499' }));
    next();
  };
}

/**
 * The pattern of the route that matched (with the prefix of the router it is mounted under); a
 * request a router answered before any of its routes matched (a refused login, its own 404) is
 * `<prefix>/*`, and one nothing matched is `unmatched`.
 */
export function routePattern(req: Request): string {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof route === 'string') return req.baseUrl + route;
  if (req.route) return `${req.baseUrl}/*`;
  return req.baseUrl ? `${req.baseUrl}/*` : 'unmatched';
}
