import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startApp, type AppOptions, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDb, migrate, type Db } from '../../src/db/index.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { ManualClock, TEST_SECRET } from '../support/db.js';
import { SlackApiStandIn } from '../support/slack-api.js';
import { blockActionsPayload, slashCommandFields, viewSubmissionPayload } from '../support/slack-payloads.js';
import { commandBody, FORM, interactionBody, JSON_TYPE, postSigned, type SignedPostOptions } from '../support/slack-sign.js';
import { TestSmtpServer } from '../support/smtp.js';

/**
 * Shared pieces of the hardening suite: a log capture, cheap "did anything change" probes over the
 * domain tables, bounded concurrency, and a Slack-on Doorman whose logger the test can read.
 */

export const DOMAIN_TABLES = ['invitations', 'members', 'audit_log', 'outbox'] as const;

/** pino output kept in memory, as the JSON lines the service would print. */
export function captureLogger(level = 'trace'): { logger: Logger; lines: string[]; errors(): Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return {
    logger,
    lines,
    errors: () =>
      lines.flatMap((line) => {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          return Number(parsed.level) >= 50 ? [parsed] : [];
        } catch {
          return [];
        }
      }),
  };
}

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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A temporary folder on tmpfs when there is one (fuzzing commits thousands of times). */
export function fastTempDir(prefix: string): { dir: string; cleanup(): void } {
  const base = process.platform === 'linux' ? '/dev/shm' : (process.env.TMPDIR ?? '/tmp');
  const dir = mkdtempSync(path.join(base, prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const SIGNING_SECRET = 'hardening-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-hardening-bot-token-0000';
// The same Slack users as the Slack suites (a bootstrap admin, an admin member, a plain member, a stranger).
import { ADMIN, MEMBER_ADMIN, PLAIN, STRANGER } from '../slack/harness.js';

export { ADMIN, MEMBER_ADMIN, PLAIN, STRANGER };

export interface SlackApp {
  app: RunningApp;
  api: SlackApiStandIn;
  smtp: TestSmtpServer;
  clock: ManualClock;
  db: Db;
  log: ReturnType<typeof captureLogger>;
  endpoint: string;
  command(command: string, text: string, user?: string, extra?: Record<string, string>, options?: SignedPostOptions): ReturnType<typeof postSigned>;
  interaction(payload: unknown, options?: SignedPostOptions): ReturnType<typeof postSigned>;
  event(event: Record<string, unknown>, eventId?: string): ReturnType<typeof postSigned>;
  next(prefix: string): string;
  stop(): Promise<void>;
}

/** Doorman with Slack on (HTTP mode) against the Web API stand-in, on SQLite in tmpfs or on PostgreSQL. */
export async function startSlackApp(options: { databaseUrl?: string; logLevel?: string; env?: Record<string, string>; app?: AppOptions; clock?: ManualClock; apiUrl?: (standIn: string) => Promise<string> } = {}): Promise<SlackApp> {
  const tmp = fastTempDir('doorman-hard-');
  const [api, smtp] = await Promise.all([SlackApiStandIn.start(BOT_TOKEN), TestSmtpServer.create()]);
  const log = captureLogger(options.logLevel ?? 'warn');
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: tmp.dir,
    DATABASE_URL: options.databaseUrl ?? `sqlite://${tmp.dir}/doorman.sqlite3`,
    APP_SECRET: TEST_SECRET,
    SMTP_URL: smtp.url,
    PUBLIC_URL: 'http://doorman.test',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: options.apiUrl ? await options.apiUrl(api.url) : api.url,
    SLACK_ADMIN_USER_IDS: ADMIN,
    ...options.env,
  });
  const clock = options.clock ?? new ManualClock(Date.now());
  const app = await startApp(config, log.logger, { clock, worker: { pollIntervalMs: 50 }, ...options.app });
  api.users.set(ADMIN, { email: 'boss@corp.test', name: 'Bootstrap Boss' });
  api.users.set(MEMBER_ADMIN, { email: 'ada@corp.test', name: 'Ada Admin' });
  api.users.set(PLAIN, { email: 'pat@corp.test', name: 'Pat Plain' });
  api.users.set(STRANGER, { email: 'nobody@elsewhere.test', name: 'No Body' });
  const { members } = app.services;
  await members.create({ email: 'ada@corp.test', role: 'admin', firstName: 'Ada', lastName: 'Admin' }, { type: 'system' });
  await members.create({ email: 'pat@corp.test', role: 'member', firstName: 'Pat', lastName: 'Plain' }, { type: 'system' });
  const endpoint = `${app.url}/slack/events`;
  let seq = 0;
  const next = (prefix: string) => `${prefix}${++seq}${randomBytes(3).toString('hex')}`;
  return {
    app,
    api,
    smtp,
    clock,
    db: app.services.db,
    log,
    endpoint,
    next,
    command(command, text, user = ADMIN, extra = {}, signed = {}) {
      const body = commandBody({ ...slashCommandFields({ command, text, user, responseUrl: api.responseUrl(next('cmd')), triggerId: next('trigger.') }), ...extra });
      return postSigned(endpoint, SIGNING_SECRET, body, FORM, signed);
    },
    interaction(payload, signed = {}) {
      return postSigned(endpoint, SIGNING_SECRET, interactionBody(payload), FORM, signed);
    },
    event(event, eventId = next('Ev')) {
      const body = JSON.stringify({ token: 'deprecated', team_id: 'T0TEST', api_app_id: 'A0DOORMAN', event, type: 'event_callback', event_id: eventId, event_time: Math.floor(Date.now() / 1000) });
      return postSigned(endpoint, SIGNING_SECRET, body, JSON_TYPE);
    },
    async stop() {
      await app.stop();
      await Promise.all([api.stop(), smtp.stop()]);
      tmp.cleanup();
    },
  };
}

/** A block_actions payload as Slack sends it for a click in an ephemeral message (or App Home). */
export function clickPayload(s: Pick<SlackApp, 'api' | 'next'>, user: string, action: Record<string, unknown>, options: { home?: boolean; triggerId?: string; responseId?: string } = {}) {
  return blockActionsPayload({
    user,
    triggerId: options.triggerId ?? s.next('trigger.'),
    action: { type: 'button', block_id: 'b', action_ts: `${Date.now() / 1000}`, ...action },
    surface: options.home ? { in: 'home' } : { in: 'ephemeral', responseUrl: s.api.responseUrl(options.responseId ?? s.next('click')) },
  });
}

/** The invite modal's view_submission payload. */
export function submissionPayload(s: Pick<SlackApp, 'next'>, user: string, values: unknown, extra: Record<string, unknown> = {}) {
  return viewSubmissionPayload({ user, triggerId: s.next('trigger.'), values, extra });
}

export function modalValues(input: { emails?: string | null; users?: string[]; role?: string }) {
  return {
    emails: { emails_input: { type: 'plain_text_input', value: input.emails ?? null } },
    users: { users_input: { type: 'multi_users_select', selected_users: input.users ?? [] } },
    role: { role_input: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: input.role ?? 'member' }, value: input.role ?? 'member' } } },
  };
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
