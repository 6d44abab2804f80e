import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { expirySweep } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logger.js';
import type { Db } from '../../src/db/index.js';
import { SLACK_NOTICE, type NoticePayload } from '../../src/notices/notices.js';
import type { Actor } from '../../src/shared/actor.js';
import { ADMIN, eventually, MEMBER_ADMIN, PLAIN, SIGNING_SECRET, STRANGER } from '../slack/harness.js';
import { createTestDatabase, ManualClock, TEST_SECRET, type Dialect, type TestDatabase } from './db.js';
import { SlackApiStandIn, type ApiCall } from './slack-api.js';
import { blockActionsPayload, clickedAction } from './slack-payloads.js';
import { FORM, interactionBody, postSigned, type SignedPostOptions } from './slack-sign.js';
import { TestSmtpServer } from './smtp.js';

/**
 * The real Doorman (startApp) with Slack on in HTTP mode against the Web API stand-in, a real SMTP
 * server and a real database, set up for the scheduled notices: a second bootstrap admin, a Slack
 * inviter, a member whose Slack user is linked, and a ManualClock that the sweep, the outbox
 * worker and the channel pacer all read. Clicks come from the DM the notice was posted as.
 */

export { ADMIN, MEMBER_ADMIN, PLAIN, STRANGER };
/** A second bootstrap admin (SLACK_ADMIN_USER_IDS has both). */
export const ADMIN2 = 'U0ADMIN2';
/** A member (admin) whose Slack user is linked on the member record. */
export const LINKED = 'U0LINKED';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const SLACK_ACTOR: Actor = { type: 'slack', slackUserId: MEMBER_ADMIN, name: 'Ada Admin' };
export const SYSTEM_ACTOR: Actor = { type: 'system', name: 'cli:test' };

export interface NoticesHarnessOptions {
  /** Extra environment (INVITE_TTL, EXPIRY_REMINDER, AUDIT_CHANNEL, …). */
  env?: Record<string, string>;
  runWorker?: boolean;
  /** Put a SlackRefusalProxy between the app and the stand-in (`h.proxy`). */
  refusalProxy?: boolean;
  /** Runs on the migrated database before the app starts. */
  beforeStart?: (db: TestDatabase, clock: ManualClock) => Promise<void>;
}

export class NoticesHarness {
  app!: RunningApp;
  proxy: SlackRefusalProxy | undefined;
  private seq = 0;
  /** Member ids of the people set up at start. */
  readonly ids: Record<'ada' | 'pat' | 'linked' | 'ops', string> = { ada: '', pat: '', linked: '', ops: '' };
  opsToken = '';

  private constructor(
    readonly db: TestDatabase,
    readonly api: SlackApiStandIn,
    readonly smtp: TestSmtpServer,
    readonly clock: ManualClock,
    private readonly dataDir: string,
    private readonly options: NoticesHarnessOptions,
  ) {}

  static async start(dialect: Dialect, options: NoticesHarnessOptions = {}): Promise<NoticesHarness> {
    const [db, api, smtp] = await Promise.all([createTestDatabase(dialect), SlackApiStandIn.start('xoxb-test'), TestSmtpServer.create()]);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'doorman-notices-'));
    const clock = new ManualClock(Date.now());
    await options.beforeStart?.(db, clock);
    const h = new NoticesHarness(db, api, smtp, clock, dataDir, { ...options, env: { ...options.env } });
    if (options.refusalProxy) h.proxy = await SlackRefusalProxy.start(api.url);
    api.users.set(ADMIN, { email: 'boss@corp.test', name: 'Bootstrap Boss' });
    api.users.set(ADMIN2, { email: 'boss2@corp.test', name: 'Second Boss' });
    api.users.set(MEMBER_ADMIN, { email: 'ada@corp.test', name: 'Ada Admin' });
    api.users.set(PLAIN, { email: 'pat@corp.test', name: 'Pat Plain' });
    api.users.set(STRANGER, { email: 'nobody@elsewhere.test', name: 'No Body' });
    api.users.set(LINKED, { email: 'lin@corp.test', name: 'Lin Linked' });
    await h.boot();
    const { members } = h.app.services;
    const system: Actor = { type: 'system' };
    h.ids.ada = (await members.create({ email: 'ada@corp.test', role: 'admin', firstName: 'Ada', lastName: 'Admin' }, system)).member.id;
    h.ids.pat = (await members.create({ email: 'pat@corp.test', role: 'member', firstName: 'Pat', lastName: 'Plain' }, system)).member.id;
    h.ids.linked = (await members.create({ email: 'lin@corp.test', role: 'admin', firstName: 'Lin', lastName: 'Linked', slackUserId: LINKED }, system)).member.id;
    const ops = await members.create({ email: 'ops@corp.test', role: 'admin', firstName: 'Ops', lastName: 'Bot', withApiToken: true }, system);
    h.ids.ops = ops.member.id;
    h.opsToken = ops.apiToken!;
    return h;
  }

  private async boot(): Promise<void> {
    const config = loadConfig({
      PORT: '0',
      DATA_DIR: this.dataDir,
      DATABASE_URL: this.db.url,
      APP_SECRET: TEST_SECRET,
      SMTP_URL: this.smtp.url,
      PUBLIC_URL: 'http://doorman.test',
      INVITE_TTL: '7d',
      EXPIRY_SWEEP_INTERVAL: '1s',
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: this.proxy?.url ?? this.api.url,
      SLACK_ADMIN_USER_IDS: `${ADMIN},${ADMIN2}`,
      LOG_LEVEL: 'silent',
      ...this.options.env,
    });
    this.app = await startApp(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), {
      clock: this.clock,
      runWorker: this.options.runWorker ?? true,
      worker: { pollIntervalMs: 50 },
    });
  }

  /** Stops the app (not the database, Slack or SMTP) and starts a new one on the same database. */
  async restart(options: { runWorker?: boolean; env?: Record<string, string> } = {}): Promise<void> {
    await this.app.stop();
    if (options.runWorker !== undefined) this.options.runWorker = options.runWorker;
    if (options.env) Object.assign(this.options.env!, options.env);
    await this.boot();
  }

  async stop(): Promise<void> {
    await this.app.stop();
    await Promise.all([this.api.stop(), this.smtp.stop(), this.db.destroy(), this.proxy?.stop()]);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  get services() {
    return this.app.services;
  }

  get endpoint(): string {
    return `${this.app.url}/slack/events`;
  }

  next(prefix: string): string {
    return `${prefix}${++this.seq}${randomBytes(3).toString('hex')}`;
  }

  /** One sweep now, as the scheduled job runs it. */
  sweep() {
    return expirySweep(this.services).run();
  }

  /** Invitations, each as its own request, by `actor`; returns their ids in order. */
  async invite(emails: string[], actor: Actor = SLACK_ACTOR): Promise<string[]> {
    const summary = await this.services.invites.inviteMany({ emails, actor });
    return summary.invitationIds;
  }

  /** Accepts the invitation emailed to `email` (waiting for the email), as the invitee would. */
  async accept(email: string, names: { firstName: string; lastName: string } = { firstName: 'New', lastName: 'Member' }, password = 'a long test passphrase'): Promise<void> {
    await eventually(() => this.smtp.to(email).length === 1, 10_000, `the invitation email to ${email}`);
    await this.services.invites.accept({ token: this.smtp.to(email)[0]!.token, ...names, password });
  }

  /** Successful DMs (chat.postMessage) to a Slack user, in order. */
  dms(user?: string): ApiCall[] {
    return this.api.callsTo('chat.postMessage').filter((c) => (user ? c.args.channel === user : /^[UW]/.test(String(c.args.channel))));
  }

  /** Waits until `user` has received `count` DMs, then a little more to catch any extra. */
  async waitForDms(user: string, count: number, timeoutMs = 8_000): Promise<ApiCall[]> {
    await this.api.waitFor(() => this.dms(user).length >= count, timeoutMs, `${count} DM(s) to ${user}`);
    return this.dms(user);
  }

  /** Notices queued in the outbox (kind slack_notice), with their state. */
  notices(): Promise<QueuedNotice[]> {
    return queuedNotices(this.db.db);
  }

  /** Waits until every queued notice is settled (done or cancelled). */
  async settled(timeoutMs = 8_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = (await this.notices()).filter((n) => n.state === 'pending');
      if (open.length === 0) return;
      if (Date.now() > deadline) throw new Error(`notices still pending: ${JSON.stringify(open)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * A click on an element of a DM the bot posted (a notice), the way Slack sends it: signed, with
   * the message, its channel and a response_url.
   */
  async click(
    dm: ApiCall,
    element: { action_id: string; value?: string; type?: string; selected_option?: unknown },
    options: SignedPostOptions & { user?: string; triggerId?: string; actionTs?: string; responseId?: string } = {},
  ) {
    const user = options.user ?? ADMIN;
    const responseId = options.responseId ?? this.next('dm');
    const channel = `D${String(dm.args.channel).slice(1)}`;
    const payload = blockActionsPayload({
      user,
      triggerId: options.triggerId ?? this.next('trigger.'),
      // As Slack does: the clicked element in the block it sits in.
      action: clickedAction(element, (dm.args.blocks ?? []) as never[], options.actionTs),
      surface: { in: 'dm', channel, responseUrl: this.api.responseUrl(responseId), message: { text: dm.args.text, blocks: dm.args.blocks } },
    });
    const body = interactionBody(payload);
    const ack = await postSigned(this.endpoint, SIGNING_SECRET, body, FORM, options);
    return { ack, responseId, body, payload };
  }

  /** Posts exactly this interactivity body again (a Slack retry when `retryNum` is set). */
  repost(body: string, options: SignedPostOptions = {}) {
    return postSigned(this.endpoint, SIGNING_SECRET, body, FORM, options);
  }
}

/** The notice id a DM's buttons carry (row values end in `.<noticeId>`, list buttons are the id). */
export function noticeIdOf(dm: ApiCall): number {
  const values: string[] = [];
  for (const block of dm.args.blocks ?? []) for (const el of block.elements ?? []) if (typeof el.value === 'string') values.push(el.value);
  for (const value of values) {
    const match = /^(?:n\.invite_[0-9A-Za-z]+\.)?(\d+)$/.exec(value);
    if (match) return Number(match[1]);
  }
  throw new Error(`no notice id in ${JSON.stringify(dm.args.blocks).slice(0, 300)}`);
}

/** How many times each notice (by the id its buttons carry) was delivered as a DM. */
export function deliveredByNotice(calls: ApiCall[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const c of calls) {
    const id = noticeIdOf(c);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** How many times each (channel, text) pair was delivered. */
export function deliveredCounts(calls: ApiCall[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of calls) {
    const key = `${c.args.channel}\u0000${c.args.text}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * A fault proxy in front of the stand-in: answers chat.postMessage to chosen channels with a
 * Slack platform error (HTTP 200, ok: false), as Slack does for a user it cannot DM, and passes
 * everything else through.
 */
export class SlackRefusalProxy {
  readonly refused: Array<{ channel: string; error: string; at: number }> = [];
  private readonly refusals = new Map<string, string>();
  private server: http.Server | undefined;
  private port = 0;

  constructor(private readonly upstream: string) {}

  static async start(upstream: string): Promise<SlackRefusalProxy> {
    const proxy = new SlackRefusalProxy(upstream);
    proxy.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void proxy.handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', () => resolve()));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  refuse(channel: string, error: string): void {
    this.refusals.set(channel, error);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    const method = /^\/api\/([a-zA-Z.]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname)?.[1];
    if (method === 'chat.postMessage') {
      const text = raw.toString('utf8');
      const channel = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(text) as { channel?: string }).channel : new URLSearchParams(text).get('channel');
      const error = channel ? this.refusals.get(channel) : undefined;
      if (channel && error) {
        this.refused.push({ channel, error, at: Date.now() });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error }));
        return;
      }
    }
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
      const upstream = await fetch(this.upstream.replace(/\/api$/, '') + (req.url ?? '/'), { method: req.method, headers, body: raw.length ? new Uint8Array(raw) : undefined });
      const body = Buffer.from(await upstream.arrayBuffer());
      const out: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k)) out[k] = v;
      });
      res.writeHead(upstream.status, out).end(body);
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  }
}

/** Sleeps in real time (for work that follows the ack, or for the worker's polling). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface QueuedNotice {
  id: number;
  state: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at: number;
  payload: NoticePayload;
}

/** The Slack notices queued in a database's outbox, oldest first, with their state. */
export async function queuedNotices(db: Db): Promise<QueuedNotice[]> {
  const rows = await db('outbox').where({ kind: SLACK_NOTICE }).orderBy('id');
  return rows.map((r: any) => ({ id: Number(r.id), state: r.state, attempts: Number(r.attempts), last_error: r.last_error, next_attempt_at: Number(r.next_attempt_at), payload: JSON.parse(r.payload) as NoticePayload }));
}
