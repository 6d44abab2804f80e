import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/**
 * The database check behind `/healthz`, shared: probes that arrive while a check is under way wait
 * for that one, and a success stands for `freshMs` more. However often `/healthz` is polled (load
 * balancers, orchestrators, a monitor every few milliseconds) the database sees at most one health
 * query per `freshMs`, and a probe takes no database connection from real work. A failure is never
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

const OK_BODY = JSON.stringify({ ok: true });
const DOWN_BODY = JSON.stringify({ ok: false, error: 'database unreachable' });

/**
 * `GET /healthz` (and HEAD), answered by the HTTP server itself, before Express: 200 `{"ok":true}`
 * when the database answers (through `check`), 503 otherwise. Probes come often (a load balancer, an
 * orchestrator, the accept benchmark every 5 ms), and through Express one cost ~270 µs of CPU on
 * this VM, ~45 µs without it. Returns whether it answered the request; anything else (another
 * path, another method) is left to Express.
 */
export function healthEndpoint(check: () => Promise<void>, logger: Logger): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '';
    if (url !== '/healthz' && !url.startsWith('/healthz?')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const answer = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    check().then(
      () => answer(200, OK_BODY),
      (error: unknown) => {
        logger.warn({ err: error }, 'health check: database unreachable');
        answer(503, DOWN_BODY);
      },
    );
    return true;
  };
}
