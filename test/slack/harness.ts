import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, ManualClock, TEST_SECRET, type Dialect, type TestDatabase } from '../support/db.js';
import { SlackApiStandIn } from '../support/slack-api.js';
import { blockActionsPayload, clickedAction, slashCommandFields, viewSubmissionPayload } from '../support/slack-payloads.js';
import { commandBody, FORM, interactionBody, JSON_TYPE, postSigned, type SignedPostOptions, type SignedResponse } from '../support/slack-sign.js';
import { TestSmtpServer } from '../support/smtp.js';

export const SIGNING_SECRET = 'slack-signing-secret-for-tests-0123456789';
export const ADMIN = 'U0ADMIN';
/** A Slack user whose profile email is an admin member's. */
export const MEMBER_ADMIN = 'U0MEMADM';
/** A Slack user whose profile email is a plain member's. */
export const PLAIN = 'U0PLAIN';
/** A Slack user no member matches. */
export const STRANGER = 'U0NOBODY';

/**
 * The real Doorman (startApp) on a real HTTP server with Slack on in HTTP mode, a real database,
 * a real SMTP server, and the Slack Web API stand-in. Requests go in signed, like Slack's.
 */
export class SlackDoorHarness {
  private seq = 0;

  private constructor(
    readonly db: TestDatabase,
    readonly api: SlackApiStandIn,
    readonly smtp: TestSmtpServer,
    readonly app: RunningApp,
    readonly clock: ManualClock,
    private readonly dataDir: string,
  ) {}

  static async start(dialect: Dialect, options: { runWorker?: boolean } = {}): Promise<SlackDoorHarness> {
    const [db, api, smtp] = await Promise.all([createTestDatabase(dialect), SlackApiStandIn.start('xoxb-test'), TestSmtpServer.create()]);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'doorman-slack-'));
    const config = loadConfig({
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      APP_SECRET: TEST_SECRET,
      SMTP_URL: smtp.url,
      PUBLIC_URL: 'http://doorman.test',
      INVITE_TTL: '7d',
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: api.url,
      SLACK_ADMIN_USER_IDS: ADMIN,
      LOG_LEVEL: 'silent',
    });
    const clock = new ManualClock(Date.now());
    const app = await startApp(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), { clock, runWorker: options.runWorker ?? true, worker: { pollIntervalMs: 50 } });
    api.users.set(ADMIN, { email: 'boss@corp.test', name: 'Bootstrap Boss' });
    api.users.set(MEMBER_ADMIN, { email: 'ada@corp.test', name: 'Ada Admin' });
    api.users.set(PLAIN, { email: 'pat@corp.test', name: 'Pat Plain' });
    api.users.set(STRANGER, { email: 'nobody@elsewhere.test', name: 'No Body' });
    const { members } = app.services;
    await members.create({ email: 'ada@corp.test', role: 'admin', firstName: 'Ada', lastName: 'Admin' }, { type: 'system' });
    await members.create({ email: 'pat@corp.test', role: 'member', firstName: 'Pat', lastName: 'Plain' }, { type: 'system' });
    return new SlackDoorHarness(db, api, smtp, app, clock, dataDir);
  }

  get endpoint(): string {
    return `${this.app.url}/slack/events`;
  }

  async stop(): Promise<void> {
    await this.app.stop();
    await Promise.all([this.api.stop(), this.smtp.stop(), this.db.destroy()]);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  next(prefix: string): string {
    return `${prefix}${++this.seq}${randomBytes(3).toString('hex')}`;
  }

  /**
   * A slash command; answers the ack and the response_url id its replies go to. An answer given
   * in the ack is handed to the stand-in under that id too, as Slack shows it the same way.
   */
  async command(command: string, text: string, user = ADMIN, options: SignedPostOptions & { triggerId?: string; responseId?: string } = {}): Promise<{ ack: SignedResponse; responseId: string; triggerId: string }> {
    const responseId = options.responseId ?? this.next('cmd');
    const triggerId = options.triggerId ?? this.next('trigger.');
    const body = commandBody(slashCommandFields({ command, text, user, responseUrl: this.api.responseUrl(responseId), triggerId }));
    const ack = await postSigned(this.endpoint, SIGNING_SECRET, body, FORM, options);
    if (ack.status === 200 && ack.json && typeof ack.json === 'object') this.api.ackAnswer(responseId, ack.json as Record<string, any>);
    return { ack, responseId, triggerId };
  }

  /** A click on an element of an ephemeral message (or App Home with `home: true`). */
  async click(element: { action_id: string; value?: string; type?: string; selected_option?: unknown }, options: SignedPostOptions & { user?: string; home?: boolean; triggerId?: string; actionTs?: string; responseId?: string } = {}) {
    const user = options.user ?? ADMIN;
    const responseId = options.responseId ?? this.next('click');
    const payload = blockActionsPayload({
      user,
      triggerId: options.triggerId ?? this.next('trigger.'),
      action: clickedAction(element, [], options.actionTs),
      surface: options.home ? { in: 'home' } : { in: 'ephemeral', responseUrl: this.api.responseUrl(responseId) },
    });
    const ack = await postSigned(this.endpoint, SIGNING_SECRET, interactionBody(payload), FORM, options);
    return { ack, responseId, payload };
  }

  /** The invite modal submitted with these inputs. */
  async submitInvite(input: { emails?: string; users?: string[]; role?: string }, options: SignedPostOptions & { user?: string; triggerId?: string } = {}) {
    const user = options.user ?? ADMIN;
    const payload = viewSubmissionPayload({
      user,
      triggerId: options.triggerId ?? this.next('trigger.'),
      values: {
        emails: { emails_input: { type: 'plain_text_input', value: input.emails ?? null } },
        users: { users_input: { type: 'multi_users_select', selected_users: input.users ?? [] } },
        role: { role_input: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: input.role ?? 'member' }, value: input.role ?? 'member' } } },
      },
    });
    return postSigned(this.endpoint, SIGNING_SECRET, interactionBody(payload), FORM, options);
  }

  /** An Events API delivery. */
  async event(event: Record<string, unknown>, options: SignedPostOptions & { eventId?: string } = {}) {
    const body = JSON.stringify({
      token: 'deprecated-verification-token',
      team_id: 'T0TEST',
      api_app_id: 'A0DOORMAN',
      event,
      type: 'event_callback',
      event_id: options.eventId ?? this.next('Ev'),
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: 'T0TEST', user_id: 'U0BOT', is_bot: true }],
    });
    return postSigned(this.endpoint, SIGNING_SECRET, body, JSON_TYPE, options);
  }

  async rawPost(body: string, contentType: string, options: SignedPostOptions = {}) {
    return postSigned(this.endpoint, SIGNING_SECRET, body, contentType, options);
  }

  /** Lets work that runs after the ack settle, then checks nothing was sent to Slack that it would refuse. */
  async settle(ms = 300): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  async counts() {
    const [invitations, audit, outbox] = await Promise.all([
      this.db.db('invitations').count<{ n: number | string }[]>({ n: '*' }),
      this.db.db('audit_log').count<{ n: number | string }[]>({ n: '*' }),
      this.db.db('outbox').count<{ n: number | string }[]>({ n: '*' }),
    ]);
    return { invitations: Number(invitations[0]!.n), audit: Number(audit[0]!.n), outbox: Number(outbox[0]!.n) };
  }
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

/** Polls `check` until it holds (for effects that follow the ack). */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
