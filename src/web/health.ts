import type { Request, Response } from 'express';
import type { Logger } from 'pino';

/**
 * The database check behind `/healthz`, shared: probes that arrive while a check is under way wait
 * for that one, and a success stands for `freshMs` more. However often `/healthz` is polled, the
 * database sees at most one health query per `freshMs`, and a probe takes no connection from real work. A failure is never
 * reused: the next probe checks again, so an outage shows at once and a recovery as soon as it is
 * real. A check that does not settle within `timeoutMs` (a dead connection, a partition) fails
 * every probe waiting on it and is let go, so the next probe starts a fresh one.
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
