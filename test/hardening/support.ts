import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createDb, type Db } from '../../src/db/index.js';
import { migrate } from '../../src/db/migrations.js';

/**
 * Shared pieces of the hardening suite: cheap "did anything change" probes over the domain tables,
 * bounded concurrency, temporary SQLite on tmpfs, and oversized-body senders. The Slack-on Doorman
 * the Slack hardening tests talk to is the one Slack test world (test/support/slack-world.ts).
 */

export const DOMAIN_TABLES = ['invitations', 'members', 'audit_log', 'outbox'] as const;

/** A hash of every row of the domain tables: equal before and after means nothing changed. */
export async function fingerprint(db: Db): Promise<{ hash: string; rows: Record<string, number> }> {
  const hash = createHash('sha256');
  const rows: Record<string, number> = {};
  for (const table of DOMAIN_TABLES) {
    const all = await db(table).orderBy('id');
    rows[table] = all.length;
    hash.update(table).update(JSON.stringify(all));
  }
  return { hash: hash.digest('hex'), rows };
}

/**
 * A change counter kept by triggers on the domain tables (SQLite only; test databases only): one
 * read says whether any insert, update or delete happened since the last read — cheap enough to
 * check after every fuzz case.
 */
export async function installChangeCounter(db: Db): Promise<() => Promise<number>> {
  await db.raw('CREATE TABLE IF NOT EXISTS hardening_changes (n INTEGER NOT NULL)');
  await db.raw('INSERT INTO hardening_changes (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM hardening_changes)');
  for (const table of DOMAIN_TABLES) {
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      await db.raw(`CREATE TRIGGER IF NOT EXISTS hardening_${table}_${op.toLowerCase()} AFTER ${op} ON ${table} BEGIN UPDATE hardening_changes SET n = n + 1; END`);
    }
  }
  return async () => Number(((await db('hardening_changes').first('n')) as { n: number }).n);
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

export { pause as sleep, eventually as until } from '../support/wait.js';

/** A temporary folder on tmpfs when there is one (fuzzing commits thousands of times). */
export function fastTempDir(prefix: string): { dir: string; cleanup(): void } {
  const base = process.platform === 'linux' ? '/dev/shm' : (process.env.TMPDIR ?? '/tmp');
  const dir = mkdtempSync(path.join(base, prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh migrated SQLite file on tmpfs (for the CLI fuzz and the two-process test). */
export async function tempSqlite(): Promise<{ url: string; filename: string; db: Db; cleanup(): Promise<void> }> {
  const tmp = fastTempDir('doorman-cli-');
  const filename = path.join(tmp.dir, 'doorman.sqlite3');
  const db = createDb({ client: 'sqlite', filename });
  await migrate(db);
  return {
    url: `sqlite://${filename}`,
    filename,
    db,
    async cleanup() {
      await db.destroy();
      tmp.cleanup();
    },
  };
}

/** Figures each test reports; printed once at the end of a file so docs/security.md can quote them. */
export function report(name: string, figures: Record<string, unknown>): void {
  process.stdout.write(`[hardening] ${name}: ${JSON.stringify(figures)}\n`);
}

/** Streams a chunked body of up to `total` bytes, stopping as soon as the server answers. */
export async function streamUntilAnswered(url: string, headers: Record<string, string>, total: number, chunked = true): Promise<{ status: number; bytesSent: number }> {
  return new Promise((resolve, reject) => {
    let bytesSent = 0;
    let done = false;
    const req = http.request(url, { method: 'POST', headers: chunked ? { ...headers, 'transfer-encoding': 'chunked' } : headers }, (res) => {
      done = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, bytesSent });
      req.destroy();
    });
    req.on('error', (error) => (done ? undefined : reject(error)));
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (!done && bytesSent < total) {
        bytesSent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!done) req.end();
    };
    pump();
  });
}

/**
 * Sends `total` bytes of body over a raw socket (request line and headers as given, e.g. a declared
 * Content-Length) and goes on sending after the answer, as a client that never reads it would —
 * node:http's client stops writing once it has the whole answer, so it cannot show this. Reports
 * the answer's status, how much was sent before it and in all, and how long after the answer the
 * server closed the connection (undefined when it had not within `giveUpMs`). `chunkDelayMs`
 * paces the sender (a slow client).
 */
export async function streamPastAnswer(
  url: string,
  headers: Record<string, string>,
  total: number,
  options: { chunkDelayMs?: number; giveUpMs?: number } = {},
): Promise<{ status: number; bytesBeforeAnswer: number; bytesSent: number; closedAfterMs: number | undefined }> {
  const target = new URL(url);
  const head = [`POST ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  return new Promise((resolve, reject) => {
    let bytesSent = 0;
    let status = 0;
    let bytesBeforeAnswer = 0;
    let answeredAt: number | undefined;
    let finished = false;
    let answer = '';
    const socket = net.connect(Number(target.port), target.hostname);
    const finish = (closed: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      if (!answeredAt) return reject(new Error(`no answer (${bytesSent} bytes sent)`));
      resolve({ status, bytesBeforeAnswer, bytesSent, closedAfterMs: closed ? Date.now() - answeredAt : undefined });
    };
    const timer = setTimeout(() => finish(false), options.giveUpMs ?? 15_000);
    socket.on('data', (data: Buffer) => {
      if (answeredAt) return;
      answer += data.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
      if (!match) return;
      status = Number(match[1]);
      bytesBeforeAnswer = bytesSent;
      answeredAt = Date.now();
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (!finished && bytesSent < total) {
        bytesSent += chunk.length;
        const more = socket.write(chunk);
        if (options.chunkDelayMs) return void setTimeout(pump, options.chunkDelayMs);
        if (!more) return void socket.once('drain', pump);
      }
    };
    socket.once('connect', () => {
      socket.write(head);
      pump();
    });
  });
}
