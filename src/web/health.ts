import type { Request, Response } from 'express';
import type { Logger } from 'pino';

/**
 * The database check behind `/healthz`, shared so polling never takes connections from real work: probes
 * during a check wait for it, and a success stands for `freshMs`. A failure is never reused (an outage shows at
 * once), and a check unsettled after `timeoutMs` (a dead connection) fails its probes and is let go.
 */
export function sharedHealthCheck(
  check: () => Promise<unknown>,
  options: { freshMs?: number; timeoutMs?: number; now?: () => number } = {},
): () => Promise<void> {
  const freshMs = options.freshMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const now = options.now ?? (() => performance.now());
  let okAt = -Infinity;
  let running: Promise<void> | undefined;
  const attempt = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([check(), late]);
      okAt = now();
    } finally {
      clearTimeout(timer);
    }
  };
  return () => {
    if (now() - okAt < freshMs) return Promise.resolve();
    running ??= attempt().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/** `GET /healthz`: 200 `{"ok":true}` when the database answers (through `check`), 503 otherwise. */
export function healthRoute(check: () => Promise<void>, logger: Logger) {
  return (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    check().then(
      () => res.json({ ok: true }),
      (error: unknown) => {
        logger.warn({ err: error }, 'health check: database unreachable');
        res.status(503).json({ ok: false, error: 'database unreachable' });
      },
    );
  };
}
