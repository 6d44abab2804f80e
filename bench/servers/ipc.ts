/**
 * The parent-child protocol of the benchmark's server processes: a child announces itself with
 * `{ type: 'ready', … }`, then answers `{ id, type }` requests with `{ id, … }`. Every child
 * answers `rss` (its resident set size in bytes) and `stop`.
 */
export type Handlers = Record<string, (message: Record<string, unknown>) => unknown>;

export function serve(info: Record<string, unknown>, handlers: Handlers, stop: () => Promise<void>): void {
  if (!process.send) throw new Error('start this file through the benchmark runner (it needs an IPC channel)');
  const send = process.send.bind(process);
  process.on('message', (raw) => {
    const message = raw as { id: number; type: string } & Record<string, unknown>;
    void (async () => {
      try {
        if (message.type === 'stop') {
          await stop();
          send({ id: message.id, ok: true }, () => process.exit(0));
          return;
        }
        if (message.type === 'rss') return send({ id: message.id, rss: process.memoryUsage().rss });
        const handler = handlers[message.type];
        if (!handler) throw new Error(`unknown request ${message.type}`);
        send({ id: message.id, ...((await handler(message)) as object) });
      } catch (error) {
        send({ id: message.id, error: (error as Error).message });
      }
    })();
  });
  // The runner going away takes its servers with it.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', pid: process.pid, ...info });
}
