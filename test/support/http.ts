import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApp, type AppOptions, type RunningApp, type Services } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { InvitationRow } from '../../src/invites/model.js';
import { createLogger } from '../../src/logger.js';
import type { Role } from '../../src/members/roles.js';
import type { Member } from '../../src/members/service.js';
import type { Actor } from '../../src/shared/actor.js';
import type { RateLimits } from '../../src/web/server.js';
import { createTestDatabase, TEST_SECRET, type Dialect, type TestDatabase } from './db.js';
import { freePort } from './net.js';
import { TestSmtpServer } from './smtp.js';

/**
 * The real Doorman HTTP server for web tests: `startApp` on a free port (so PUBLIC_URL in the
 * emails is the address the test reaches), a fresh database, and a real SMTP server in-process.
 */

export const OPERATOR: Actor = { type: 'system', name: 'test' };

/** Rate limits high enough never to get in the way of a test that is not about them. */
export const GENEROUS_LIMITS: RateLimits = {
  tokenFailures: { windowMs: 60_000, limit: 10_000 },
  passwordFailures: { windowMs: 60_000, limit: 10_000 },
  passwordAddressFailures: { windowMs: 60_000, limit: 10_000 },
  authFailures: { windowMs: 60_000, limit: 10_000 },
  renewalRequests: { windowMs: 60_000, limit: 10_000 },
};

export interface TestApp {
  dialect: Dialect;
  app: RunningApp;
  services: Services;
  /** Where the server listens, e.g. http://127.0.0.1:41234 (also PUBLIC_URL). */
  url: string;
  smtp: TestSmtpServer;
  database: TestDatabase;
  /** An admin with a password and an API token. */
  admin: { member: Member; email: string; password: string; apiToken: string };
  /** A member (role member) with a password and an API token: no Member: Manage. */
  createMember(role: Role, email: string, password?: string): Promise<{ member: Member; apiToken: string; password: string }>;
  invitation(email: string): Promise<InvitationRow>;
  close(): Promise<void>;
}

export interface TestAppOptions extends Pick<AppOptions, 'clock' | 'runWorker'> {
  rateLimits?: Partial<RateLimits>;
  env?: Record<string, string>;
  /** Reuse a database (otherwise a fresh one is made and destroyed on close). */
  database?: TestDatabase;
}

export async function startTestApp(dialect: Dialect, options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase(dialect));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'doorman-web-'));
  const smtp = await TestSmtpServer.create();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    APP_SECRET: TEST_SECRET,
    PORT: String(port),
    PUBLIC_URL: url,
    SMTP_URL: smtp.url,
    ORG_NAME: 'Acme',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const logger = createLogger(process.env.DOORMAN_TEST_LOG ?? 'silent');
  const app = await startApp(config, logger, {
    clock: options.clock,
    runWorker: options.runWorker,
    rateLimits: { ...GENEROUS_LIMITS, ...options.rateLimits },
    // Deliver at once and retry quickly: the tests wait for real mail.
    worker: { pollIntervalMs: 100 },
  });
  const services = app.services;
  const adminPassword = 'admin-password-1';
  const created = await services.members.create({ email: 'ada@acme.test', role: 'admin', firstName: 'Ada', lastName: 'Lovelace', password: adminPassword, withApiToken: true }, OPERATOR);

  return {
    dialect,
    app,
    services,
    url,
    smtp,
    database,
    admin: { member: created.member, email: 'ada@acme.test', password: adminPassword, apiToken: created.apiToken! },
    async createMember(role, email, password = 'member-password-1') {
      const made = await services.members.create({ email, role, password, withApiToken: true }, OPERATOR);
      return { member: made.member, apiToken: made.apiToken!, password };
    },
    async invitation(email) {
      const row = await services.db<InvitationRow>('invitations').where({ email: email.toLowerCase() }).first();
      if (!row) throw new Error(`no invitation for ${email}`);
      return row;
    },
    async close() {
      await app.stop();
      await smtp.stop();
      if (!options.database) await database.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface RequestOptions {
  method?: string;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
  apiToken?: string;
  bearer?: string;
  cookie?: string;
  headers?: Record<string, string>;
}

/** One raw HTTP request with fetch; never throws on a status. */
export async function request(base: string, pathname: string, options: RequestOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiToken) headers['x-medusa-access-token'] = options.apiToken;
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  if (options.cookie) headers.cookie = options.cookie;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + pathname, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A form post the way a browser without JavaScript sends it. */
export async function postForm(base: string, pathname: string, fields: Record<string, string>): Promise<HttpAnswer> {
  return request(base, pathname, { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

/** The invitation token in the newest email to `email`, waiting for it when it has not come yet. */
export async function linkFromEmail(smtp: TestSmtpServer, email: string, count = 1, timeoutMs = 10_000): Promise<{ link: string; token: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = smtp.to(email);
    if (mails.length >= count) {
      const mail = mails[count - 1]!;
      if (!mail.link || !mail.token) throw new Error(`no accept link in the email to ${email}:\n${mail.text}`);
      return { link: mail.link, token: mail.token };
    }
    if (Date.now() > deadline) throw new Error(`expected ${count} email(s) to ${email}, got ${mails.length}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Rows of a table as plain data, to compare before and after a request that must change nothing. */
export async function snapshot(services: Services): Promise<{ invitations: unknown[]; members: unknown[]; audit: unknown[]; outbox: unknown[] }> {
  const db = services.db;
  const [invitations, members, audit, outbox] = await Promise.all([
    db('invitations').orderBy('id'),
    db('members').orderBy('id'),
    db('audit_log').orderBy('id'),
    db('outbox').orderBy('id'),
  ]);
  return { invitations, members, audit, outbox };
}

/** Waits until the mail worker has nothing left in hand, so a snapshot is not taken mid-delivery. */
export async function settled(services: Services, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy = await services.db('outbox').where({ state: 'pending' }).count<{ n: number | string }[]>({ n: '*' });
    if (Number(busy[0]?.n ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error('the outbox did not settle');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
