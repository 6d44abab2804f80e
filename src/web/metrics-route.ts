import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { MetricsAccess } from '../config.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * GET /metrics: Prometheus text. With a token (METRICS=<token>) only a request carrying
 * `Authorization: Bearer <token>` is answered; others get 401 and learn nothing.
 */
export function metricsRoute(metrics: Metrics, access: MetricsAccess, logger: Logger): RequestHandler {
  // Both sides hashed to one length, so the comparison takes the same time whatever was sent.
  const expected = access.token === undefined ? undefined : sha256(access.token);
  return async (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (expected) {
      const given = /^Bearer +(\S+) *$/i.exec(req.get('authorization') ?? '')?.[1] ?? '';
      if (!timingSafeEqual(sha256(given), expected)) {
        res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"').type('text/plain').send('401: send the METRICS token as "Authorization: Bearer <token>"\n');
        return;
      }
    }
    let text: string;
    try {
      text = await metrics.scrape();
    } catch (error) {
      // A scrape that fails shows as a failed target (up == 0), which is what should alert.
      logger.error({ err: error }, 'metrics could not be read');
      res.status(503).type('text/plain').send('503: the metrics could not be read (is the database reachable?)\n');
      return;
    }
    res.type(metrics.contentType).send(text);
  };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
