import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { serve } from './ipc.js';

/** A local SMTP server (smtp-server) that accepts every message and counts it, in its own process. */
let received = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 10 * 1024 * 1024,
  maxClients: 100,
  onData(stream, _session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      received++;
      callback(null, 'queued');
    });
  },
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const port = (server.server.address() as AddressInfo).port;
serve(
  { url: `smtp://127.0.0.1:${port}` },
  {
    count: () => ({ received }),
    reset: () => {
      received = 0;
      return { received };
    },
  },
  () => new Promise<void>((resolve) => server.close(() => resolve())),
);
