import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApp, type AppOptions, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/index.js';
import { expirySweep } from '../../src/jobs/index.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { SLACK_NOTICE, type NoticePayload } from '../../src/notices/queue.js';
import type { Actor } from '../../src/shared/actor.js';
import { createTestDatabase, ManualClock, TEST_SECRET, type Dialect, type TestDatabase } from './db.js';
import { ACK_TIMEOUT_MS, SlackApiStandIn, type ApiCall } from './slack-api.js';
import { blockActionsPayload, clickedAction, eventCallback, fileInputValue, globalShortcutPayload, newTriggerId, slashCommandFields, viewSubmissionPayload } from './slack-payloads.js';
import { SlackRefusalProxy } from './slack-refusal-proxy.js';
import { commandBody, FORM, interactionBody, JSON_TYPE, postSigned, type SignedPostOptions, type SignedResponse } from './slack-sign.js';
import { SlackSocketStandIn } from './slack-socket.js';
import { inviteModal } from '../../src/slack/blocks/invite-modal.js';
import { TestSmtpServer, type ReceivedMail } from './smtp.js';
import { emailed as emailsRecorded } from './mail.js';
import { eventually, pause } from './wait.js';

export const SIGNING_SECRET = 'slack-signing-secret-for-tests-0123456789';
export const BOT_TOKEN = 'xoxb-test';
export const COMMAND = '/doorman';
/** A bootstrap admin (SLACK_ADMIN_USER_IDS). */
export const ADMIN = 'U0ADMIN';
/** A second bootstrap admin. */
export const ADMIN2 = 'U0ADMIN2';
/** A Slack user whose profile email is an admin member's (not linked until first seen). */
export const MEMBER_ADMIN = 'U0MEMADM';
/** A Slack user whose profile email is a plain member's. */
export const PLAIN = 'U0PLAIN';
/** A Slack user no member matches. */
export const STRANGER = 'U0NOBODY';
/** A member (admin) whose Slack user is linked on the member record. */
export const LINKED = 'U0LINKED';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const SLACK_ACTOR: Actor = { type: 'slack', slackUserId: MEMBER_ADMIN, name: 'Ada Admin' };
export const SYSTEM_ACTOR: Actor = { type: 'system', name: 'cli:test' };

export interface SlackWorldOptions {
  /** Extra environment (INVITE_TTL, EXPIRY_REMINDER, AUDIT_CHANNEL, SLACK_COMMAND…). */
  env?: Record<string, string>;
  runWorker?: boolean;
  /** Put a SlackRefusalProxy between the app and the stand-in (`w.proxy`). */
  refusalProxy?: boolean;
  /** Slack over Socket Mode (the Socket Mode stand-in, `w.socket`) instead of HTTP. */
  socketMode?: boolean;
  /** Runs on the migrated database (and the stand-in) before the app starts. */
  beforeStart?: (db: TestDatabase, clock: ManualClock, api: SlackApiStandIn) => Promise<void>;
  /** Channels the bot is a member of (it may post there; elsewhere Slack answers not_in_channel). */
  channels?: string[];
  /** More Slack users the stand-in knows (by id) before the app starts, beside the world's own. */
  users?: Record<string, { email: string; name: string }>;
  /** Keep the app's log lines (`w.log`) from this level on. */
  logLevel?: string;
  app?: AppOptions;
}

/** pino output kept in memory, as the JSON lines the service would print. */
export function captureLogger(level = 'trace'): { logger: Logger; lines: string[]; entries(): Array<Record<string, unknown>>; errors(): Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  const entries = () =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return { logger, lines, entries, errors: () => entries().filter((e) => Number(e.level) >= 50) };
}

/**
 * The one Slack test world: the real Doorman (startApp) with Slack on, over HTTP (requests signed
 * as Slack signs them) or Socket Mode, against the strict Web API stand-in, a real SMTP server and
 * a real database, seeded with the same people every Slack, notices and hardening suite uses:
 * - Slack users ADMIN and ADMIN2 (bootstrap admins), MEMBER_ADMIN (Ada, an admin member),
 *   PLAIN (Pat, a plain member), STRANGER (no member), LINKED (Lin, an admin linked by id);
 * - members ada, pat, lin, and ops (an admin with an API token, `w.opsToken`).
 * Time is a ManualClock the sweep, the worker and the pacer all read.
 */
export class SlackWorld {
  app!: RunningApp;
  proxy: SlackRefusalProxy | undefined;
  socket: SlackSocketStandIn | undefined;
  readonly log: ReturnType<typeof captureLogger>;
  readonly ids: Record<'ada' | 'pat' | 'linked' | 'ops', string> = { ada: '', pat: '', linked: '', ops: '' };
  opsToken = '';
  private seq = 0;

  private constructor(
    readonly db: TestDatabase,
    readonly api: SlackApiStandIn,
    readonly smtp: TestSmtpServer,
    readonly clock: ManualClock,
    private readonly dataDir: string,
    private readonly options: SlackWorldOptions,
  ) {
    this.log = captureLogger(options.logLevel ?? 'silent');
  }

  static async start(dialect: Dialect, options: SlackWorldOptions = {}): Promise<SlackWorld> {
    const socket = options.socketMode ? await SlackSocketStandIn.start() : undefined;
    const [db, api, smtp] = await Promise.all([createTestDatabase(dialect), SlackApiStandIn.start(BOT_TOKEN, socket ? { socket } : {}), TestSmtpServer.create()]);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'doorman-slack-'));
    const clock = new ManualClock(Date.now());
    await options.beforeStart?.(db, clock, api);
    const w = new SlackWorld(db, api, smtp, clock, dataDir, { ...options, env: { ...options.env } });
    w.socket = socket;
    if (options.refusalProxy) w.proxy = await SlackRefusalProxy.start(api.url);
    for (const channel of options.channels ?? []) api.joinChannel(channel);
    api.users.set(ADMIN, { email: 'boss@corp.test', name: 'Bootstrap Boss' });
    api.users.set(ADMIN2, { email: 'boss2@corp.test', name: 'Second Boss' });
    api.users.set(MEMBER_ADMIN, { email: 'ada@corp.test', name: 'Ada Admin' });
    api.users.set(PLAIN, { email: 'pat@corp.test', name: 'Pat Plain' });
    api.users.set(STRANGER, { email: 'nobody@elsewhere.test', name: 'No Body' });
    api.users.set(LINKED, { email: 'lin@corp.test', name: 'Lin Linked' });
    for (const [id, user] of Object.entries(options.users ?? {})) api.users.set(id, user);
    await w.boot();
    const { members } = w.app.services;
    const system: Actor = { type: 'system' };
    w.ids.ada = (await members.create({ email: 'ada@corp.test', role: 'admin', firstName: 'Ada', lastName: 'Admin' }, system)).member.id;
    w.ids.pat = (await members.create({ email: 'pat@corp.test', role: 'member', firstName: 'Pat', lastName: 'Plain' }, system)).member.id;
    w.ids.linked = (await members.create({ email: 'lin@corp.test', role: 'admin', firstName: 'Lin', lastName: 'Linked', slackUserId: LINKED }, system)).member.id;
    const ops = await members.create({ email: 'ops@corp.test', role: 'admin', firstName: 'Ops', lastName: 'Bot', withApiToken: true }, system);
    w.ids.ops = ops.member.id;
    w.opsToken = ops.apiToken!;
    return w;
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
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      ...(this.socket ? { SLACK_APP_TOKEN: this.api.appToken } : {}),
      SLACK_API_URL: this.proxy?.url ?? this.api.url,
      SLACK_ADMIN_USER_IDS: `${ADMIN},${ADMIN2}`,
      LOG_LEVEL: 'silent',
      ...this.options.env,
    });
    const logger = this.options.logLevel ? this.log.logger : createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    this.app = await startApp(config, logger, { clock: this.clock, runWorker: this.options.runWorker ?? true, worker: { pollIntervalMs: 50 }, ...this.options.app });
    if (this.socket) await this.socket.connected();
  }

  /** Stops the app (not the database, Slack or SMTP) and starts a new one on the same database. */
  async restart(options: { runWorker?: boolean; env?: Record<string, string>; whileStopped?: () => void } = {}): Promise<void> {
    await this.app.stop();
    options.whileStopped?.();
    if (options.runWorker !== undefined) this.options.runWorker = options.runWorker;
    if (options.env) Object.assign(this.options.env!, options.env);
    await this.boot();
  }

  async stop(): Promise<void> {
    await this.app.stop();
    await Promise.all([this.api.stop(), this.smtp.stop(), this.db.destroy(), this.proxy?.stop(), this.socket?.stop()]);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  get services() {
    return this.app.services;
  }

  get endpoint(): string {
    return `${this.app.url}/slack/events`;
  }

  /** The configured slash command. */
  get command(): string {
    return this.options.env?.SLACK_COMMAND ?? COMMAND;
  }

  next(prefix: string): string {
    return `${prefix}${++this.seq}${randomBytes(3).toString('hex')}`;
  }

  // ---------------------------------------------------------------- requests, as Slack sends them

  /**
   * The slash command with `text` as the person typed it (escaped as Slack escapes it; `raw` for
   * text already in Slack's wire form). Answers the ack and the response_url id its replies go
   * to; an answer given in the ack is kept with them, as Slack shows it the same way.
   */
  async slash(text: string, user = ADMIN, options: SignedPostOptions & { triggerId?: string; responseId?: string; raw?: boolean; fields?: Record<string, string> } = {}): Promise<{ ack: SignedResponse; responseId: string; triggerId: string }> {
    const responseId = options.responseId ?? this.next('cmd');
    const triggerId = options.triggerId ?? newTriggerId();
    const fields = { ...slashCommandFields({ command: this.command, text, user, responseUrl: this.api.responseUrl(responseId), triggerId, raw: options.raw }), ...options.fields };
    const ack = await postSigned(this.endpoint, SIGNING_SECRET, commandBody(fields), FORM, options);
    this.api.ackTime('slash command', ack.ms);
    if (ack.status === 200 && ack.json && typeof ack.json === 'object' && ack.ms < ACK_TIMEOUT_MS) this.api.ackAnswer(responseId, ack.json as Record<string, any>);
    return { ack, responseId, triggerId };
  }

  /** A click on an element of an ephemeral message (or App Home with `home: true`). */
  async click(element: { action_id: string; value?: string; type?: string; selected_option?: unknown }, options: SignedPostOptions & { user?: string; home?: boolean; triggerId?: string; actionTs?: string; responseId?: string } = {}) {
    const user = options.user ?? ADMIN;
    const responseId = options.responseId ?? this.next('click');
    const payload = blockActionsPayload({
      user,
      triggerId: options.triggerId ?? newTriggerId(),
      action: clickedAction(element, [], options.actionTs),
      surface: options.home ? { in: 'home' } : { in: 'ephemeral', responseUrl: this.api.responseUrl(responseId) },
    });
    const ack = await postSigned(this.endpoint, SIGNING_SECRET, interactionBody(payload), FORM, options);
    this.api.ackTime('block action', ack.ms);
    return { ack, responseId, payload };
  }

  /** A click on an element of a DM the bot posted (a notice), with the message, its channel and a response_url. */
  async clickDm(
    dm: ApiCall,
    element: { action_id: string; value?: string; type?: string; selected_option?: unknown },
    options: SignedPostOptions & { user?: string; triggerId?: string; actionTs?: string; responseId?: string } = {},
  ) {
    const user = options.user ?? ADMIN;
    const responseId = options.responseId ?? this.next('dm');
    const channel = `D${String(dm.args.channel).slice(1)}`;
    const payload = blockActionsPayload({
      user,
      triggerId: options.triggerId ?? newTriggerId(),
      action: clickedAction(element, (dm.args.blocks ?? []) as never[], options.actionTs),
      surface: { in: 'dm', channel, responseUrl: this.api.responseUrl(responseId, 'message'), message: { text: dm.args.text, blocks: dm.args.blocks } },
    });
    const body = interactionBody(payload);
    const ack = await postSigned(this.endpoint, SIGNING_SECRET, body, FORM, options);
    this.api.ackTime('block action', ack.ms);
    return { ack, responseId, body, payload };
  }

  /** The invite form submitted with these inputs (answered with the review, or field errors). */
  async submitInvite(input: FormInput, options: SignedPostOptions & { user?: string; triggerId?: string } = {}) {
    // The form's own blocks, as Slack sends the submitted view: its errors must name its inputs.
    const payload = viewSubmissionPayload({ user: options.user ?? ADMIN, triggerId: options.triggerId ?? newTriggerId(), values: modalValues(input), extra: { blocks: inviteModal(this.app.services.config.inviteTtlMs).blocks } });
    return this.viewAnswered(await postSigned(this.endpoint, SIGNING_SECRET, interactionBody(payload), FORM, options), payload.view);
  }

  /** A view submission's ack, checked by the stand-in as Slack checks the view it answers with. */
  private viewAnswered(ack: SignedResponse, view: { id: string; blocks?: unknown[] }): SignedResponse {
    this.api.ackTime('view submission', ack.ms);
    if (ack.status === 200) this.api.viewAck(ack.json, view.id, view);
    return ack;
  }

  /** "Send" on a review (its draft id from the review view's private_metadata). */
  async sendReview(draftId: string, options: SignedPostOptions & { user?: string; triggerId?: string; resendInvited?: boolean } = {}) {
    const values = options.resendInvited ? { resend_invited: { resend_invited_input: { type: 'checkboxes', selected_options: [{ value: 'resend' }] } } } : {};
    const payload = viewSubmissionPayload({ user: options.user ?? ADMIN, triggerId: options.triggerId ?? newTriggerId(), values, extra: { callback_id: 'invite_review', private_metadata: draftId } });
    return this.viewAnswered(await postSigned(this.endpoint, SIGNING_SECRET, interactionBody(payload), FORM, options), payload.view);
  }

  /** The invite form submitted, then its review sent: answers both acks. */
  async sendInvite(input: FormInput, options: SignedPostOptions & { user?: string; resendInvited?: boolean } = {}) {
    const review = await this.submitInvite(input, options);
    const draftId = (review.json as { view?: { private_metadata?: string } } | undefined)?.view?.private_metadata;
    if (!draftId) throw new Error(`the form was not answered with a review: ${review.status} ${review.text.slice(0, 300)}`);
    return { review, sent: await this.sendReview(draftId, options) };
  }

  /** The "Invite people" global shortcut. */
  async shortcut(user = ADMIN, options: SignedPostOptions & { triggerId?: string } = {}) {
    const payload = globalShortcutPayload({ user, callbackId: 'invite_people', triggerId: options.triggerId ?? newTriggerId() });
    return this.acked('shortcut', postSigned(this.endpoint, SIGNING_SECRET, interactionBody(payload), FORM, options));
  }

  /** Any interactivity payload, signed. */
  interaction(payload: unknown, options: SignedPostOptions = {}) {
    return this.acked('interaction', postSigned(this.endpoint, SIGNING_SECRET, interactionBody(payload), FORM, options));
  }

  /** An Events API delivery. */
  event(event: Record<string, unknown>, options: SignedPostOptions & { eventId?: string } = {}) {
    return this.acked('event', postSigned(this.endpoint, SIGNING_SECRET, JSON.stringify(eventCallback(event, { eventId: options.eventId ?? this.next('Ev') })), JSON_TYPE, options));
  }

  /** Slack's 3 seconds hold for every request it sends: an ack later than that is kept as a refusal. */
  private async acked(what: string, sent: Promise<SignedResponse>): Promise<SignedResponse> {
    const ack = await sent;
    this.api.ackTime(what, ack.ms);
    return ack;
  }

  /** Exactly this body, signed (a Slack retry when `retryNum` is set). */
  rawPost(body: string, contentType: string = FORM, options: SignedPostOptions = {}) {
    return postSigned(this.endpoint, SIGNING_SECRET, body, contentType, options);
  }

  // ---------------------------------------------------------------- the domain, and what came of it

  /** One sweep now, as the scheduled job runs it. */
  sweep() {
    return expirySweep(this.services).run();
  }

  /** Invitations by `actor` (a Slack admin by default); returns their ids in order. */
  async invite(emails: string[], actor: Actor = SLACK_ACTOR): Promise<string[]> {
    return (await this.services.invites.inviteMany({ emails, actor })).invitationIds;
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

  /** Waits until `user` has received `count` DMs. */
  async waitForDms(user: string, count: number, timeoutMs = 8_000): Promise<ApiCall[]> {
    await this.api.waitFor(() => this.dms(user).length >= count, timeoutMs, `${count} DM(s) to ${user}`);
    return this.dms(user);
  }

  /** Waits until `address` has received `count` emails, each recorded as sent (see emailed in mail.ts). */
  emailed(address: string, count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    return emailsRecorded(this.smtp, this.db.db, address, count, timeoutMs);
  }

  /** Notices queued in the outbox (kind slack_notice), with their state. */
  notices(): Promise<QueuedNotice[]> {
    return queuedNotices(this.db.db);
  }

  /**
   * Waits for `check`, moving the test's clock on by a little more than a recipient's one-a-second pace
   * at each look, so DMs waiting on the pace go out.
   */
  paced<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    return eventually(() => {
      this.clock.advance(1_100);
      return check() || undefined;
    }, timeoutMs, what) as Promise<T>;
  }

  /** Waits until every queued notice is settled (done or cancelled). */
  async settled(timeoutMs = 8_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = (await this.notices()).filter((n) => n.state === 'pending');
      if (open.length === 0) return;
      if (Date.now() > deadline) throw new Error(`notices still pending: ${JSON.stringify(open)}`);
      await pause(50);
    }
  }

  /** Lets work that runs after the ack settle. */
  async settle(ms = 300): Promise<void> {
    await pause(ms);
  }

  /** Rows in the domain tables (did a refused request change anything?). */
  async counts() {
    const n = async (table: string) => Number(((await this.db.db(table).count<{ n: number | string }[]>({ n: '*' }))[0]!).n);
    return { invitations: await n('invitations'), audit: await n('audit_log'), outbox: await n('outbox') };
  }
}

/** What a test types and picks in the invite form. */
export interface FormInput {
  emails?: string | null;
  users?: string[];
  role?: string;
  /** `default`, or days: 1, 3, 7, 14, 30. */
  expiry?: string;
  message?: string | null;
  /** Files attached to the form's file input (from `api.addFile`). */
  files?: ReadonlyArray<Record<string, unknown>>;
}

/** The invite form's state values. */
export function modalValues(input: FormInput) {
  return {
    emails: { emails_input: { type: 'plain_text_input', value: input.emails ?? null } },
    users: { users_input: { type: 'multi_users_select', selected_users: input.users ?? [] } },
    role: { role_input: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: input.role ?? 'member' }, value: input.role ?? 'member' } } },
    expiry: { expiry_input: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: input.expiry ?? 'default' }, value: input.expiry ?? 'default' } } },
    message: { message_input: { type: 'plain_text_input', value: input.message ?? null } },
    file: { file_input: fileInputValue(input.files ?? []) },
  };
}

/** Every interactive element of a set of blocks, flattened. */
export function elementsOf(blocks: any[]): any[] {
  const out: any[] = [];
  for (const block of blocks ?? []) {
    if (block.accessory) out.push(block.accessory);
    for (const el of block.elements ?? []) if (el.action_id) out.push(el);
  }
  return out;
}

/** The element whose action id starts with `base` and whose value names `invitationId`. */
export function buttonFor(blocks: any[], base: string, invitationId?: string): any {
  const found = elementsOf(blocks).find((el) => el.action_id.replace(/_\d+$/, '') === base && (!invitationId || String(el.value).includes(invitationId)));
  if (!found) throw new Error(`no ${base} element${invitationId ? ` for ${invitationId}` : ''} in ${JSON.stringify(blocks).slice(0, 400)}`);
  return found;
}

/** All text of a set of blocks, for assertions on what a person reads. */
export function textOf(message: { text?: string; blocks?: any[] }): string {
  return (message.text ?? '') + '\n' + JSON.stringify(message.blocks ?? []).replace(/\\n/g, '\n');
}

export { eventually, pause } from './wait.js';

/** The notice id a DM's buttons carry (row values end in `.<noticeId>`, after the row's sending; list buttons are the id). */
export function noticeIdOf(dm: ApiCall): number {
  const values: string[] = [];
  for (const block of dm.args.blocks ?? []) for (const el of block.elements ?? []) if (typeof el.value === 'string') values.push(el.value);
  for (const value of values) {
    const match = /^(?:n\.invite_[0-9A-Za-z]+\.(?:v[0-9a-z]+\.)?)?(\d+)$/.exec(value);
    if (match) return Number(match[1]);
  }
  throw new Error(`no notice id in ${JSON.stringify(dm.args.blocks).slice(0, 300)}`);
}

/** How many times each notice (by the id its buttons carry) was delivered as a DM. */
export function deliveredByNotice(calls: ApiCall[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const c of calls) counts.set(noticeIdOf(c), (counts.get(noticeIdOf(c)) ?? 0) + 1);
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
