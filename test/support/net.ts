import { readFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';

/** Closes a test server at once: its open connections too, so that close does not wait on keep-alive. */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Ports for servers that must know theirs before they start; see freePort. */
const FIRST_PORT = 20_000;
const BLOCK = 1_000;
const BLOCKS = 12;
let nextInBlock = 0;

/** Whether the kernel hands out ports by itself (to `listen(0)` and outgoing connections) only above the blocks; read once. */
const blocksAreOurs = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) >= FIRST_PORT + BLOCK * BLOCKS;
  } catch {
    return false;
  }
})();

const tryListen = (port: number) =>
  new Promise<number | undefined>((resolve) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', () => resolve(undefined));
    probe.listen(port, '127.0.0.1', () => {
      const { port: bound } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(bound));
    });
  });

/**
 * A port nobody listens on right now, for a server that must know its port before it starts (or
 * come back on the same one). A port the kernel handed out could be handed out again, to another
 * worker's server or an outgoing connection, before the caller listens on it; so each test worker
 * draws from its own block below the kernel's ephemeral range, where nothing else takes ports.
 */
export async function freePort(): Promise<number> {
  if (blocksAreOurs) {
    const block = FIRST_PORT + (Number(process.env.VITEST_POOL_ID ?? process.pid) % BLOCKS) * BLOCK;
    for (let tries = 0; tries < BLOCK; tries++) {
      const port = await tryListen(block + (nextInBlock++ % BLOCK));
      if (port) return port;
    }
  }
  const port = await tryListen(0);
  if (!port) throw new Error('no free port on 127.0.0.1');
  return port;
}
