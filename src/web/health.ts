/**
 * The database check behind `/healthz`, shared: probes that arrive while a check is under way wait
 * for that one, and a success stands for `freshMs` more. However often `/healthz` is polled (load
 * balancers, orchestrators, a monitor every few milliseconds) the database sees at most one health
 * query per `freshMs`, and a probe takes no database connection from real work. A failure is never
 * reused: the next probe checks again, so an outage shows at once and a recovery as soon as it is real.
 */
export function sharedHealthCheck(check: () => Promise<unknown>, freshMs = 1_000, now: () => number = () => performance.now()): () => Promise<void> {
  let okAt = -Infinity;
  let running: Promise<void> | undefined;
  return () => {
    if (now() - okAt < freshMs) return Promise.resolve();
    running ??= (async () => {
      try {
        await check();
        okAt = now();
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
}
