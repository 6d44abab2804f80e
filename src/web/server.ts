import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';

export interface WebDeps {
  db: Db;
  logger: Logger;
}

/** The one HTTP server: health now; Slack, the accept page and the admin API mount onto it. */
export function createWebApp(deps: WebDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.get('/healthz', async (_req, res) => {
    try {
      await deps.db.raw('select 1');
      res.json({ ok: true });
    } catch (error) {
      deps.logger.warn({ err: error }, 'health check: database unreachable');
      res.status(503).json({ ok: false, error: 'database unreachable' });
    }
  });
  return app;
}
