import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A strict stand-in for Slack's Web API, reached through SLACK_API_URL. It knows only the methods
 * Doorman uses, checks the bot token and each method's required arguments, rejects Block Kit that
 * breaks Slack's limits (`invalid_blocks`), records every call, and can be told to answer 429 or
 * 500. It also takes the posts Bolt's respond() makes to `response_url`s.
 *
 * Its limit checks are written here on their own, apart from src/slack/blocks/limits.ts, so that a
 * mistake in one is caught by the other.
 */

export interface ApiCall {
  method: string;
  args: Record<string, any>;
  at: number;
  /** What the stand-in answered. */
  ok: boolean;
  error?: string;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, any>;
  at: number;
  /** `ack`: the answer came in the command's acknowledgement, which Slack shows like a response_url post. */
  via: 'response_url' | 'ack';
  error?: string;
}

export interface SlackTestUser {
  email?: string;
  name?: string;
  deleted?: boolean;
}

type Fault = { method: string; status: 429 | 500; retryAfter?: number; times: number };

const REQUIRED: Record<string, string[][]> = {
  'auth.test': [],
  'users.info': [['user']],
  'chat.postMessage': [['channel'], ['text', 'blocks']],
  'chat.postEphemeral': [['channel'], ['user'], ['text', 'blocks']],
  'chat.update': [['channel'], ['ts']],
  'views.open': [['trigger_id'], ['view']],
  'views.update': [['view'], ['view_id', 'external_id']],
  'views.publish': [['user_id'], ['view']],
  'conversations.open': [['users', 'channel']],
};

export class SlackApiStandIn {
  readonly calls: ApiCall[] = [];
  readonly responses: ResponseUrlPost[] = [];
  readonly users = new Map<string, SlackTestUser>();
  private readonly faults: Fault[] = [];
  private readonly messages = new Map<string, { channel: string; ts: string }>();
  private server: http.Server | undefined;
  private port = 0;
  private seq = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly botToken = 'xoxb-test') {}

  static async start(botToken?: string): Promise<SlackApiStandIn> {
    const api = new SlackApiStandIn(botToken);
    await api.listen();
    return api;
  }

  /** SLACK_API_URL for the app (without the trailing slash, which the app must add). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** A response_url for one request; what the app posts there is kept under `id`. */
  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/respond/${encodeURIComponent(id)}`;
  }

  /**
   * A command's acknowledgement that carried an answer: Slack shows it as the command's reply, so
   * it is kept with the response_url posts of that request (checked against the same limits).
   */
  ackAnswer(id: string, body: Record<string, any>): void {
    const problems = messageProblems(body);
    this.responses.push({ id, body, at: Date.now(), via: 'ack', ...(problems.length ? { error: `invalid_blocks: ${problems.join('; ')}` } : {}) });
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** The next `times` calls to `method` answer with this status. */
  fail(method: string, status: 429 | 500, options: { retryAfter?: number; times?: number } = {}): void {
    this.faults.push({ method, status, retryAfter: options.retryAfter, times: options.times ?? 1 });
  }

  callsTo(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method && c.ok);
  }

  responsesTo(id: string): ResponseUrlPost[] {
    return this.responses.filter((r) => r.id === id);
  }

  /** Calls or posts the stand-in refused: a test fails if the app sent Slack something invalid. */
  rejected(): Array<ApiCall | ResponseUrlPost> {
    return [...this.calls.filter((c) => !c.ok && c.error !== 'ratelimited' && c.error !== 'internal_error'), ...this.responses.filter((r) => r.error)];
  }

  /** Waits until `check` returns something truthy (re-checked on every call received). */
  async waitFor<T>(check: () => T | undefined | false | null, timeoutMs = 8_000, what = 'the expected Slack call'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; calls so far: ${this.calls.map((c) => c.method).join(', ')}; responses: ${this.responses.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The response posted to `id`'s response_url (the `n`th, 0-based). */
  response(id: string, n = 0, timeoutMs?: number): Promise<ResponseUrlPost> {
    return this.waitFor(() => this.responsesTo(id)[n], timeoutMs, `response #${n} to ${id}`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          this.handle(req, res, raw);
        } catch (error) {
          res.writeHead(500).end(String(error));
        }
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const respond = /^\/respond\/(.+)$/.exec(url.pathname);
    if (respond && req.method === 'POST') {
      const body = parseBody(req.headers['content-type'], raw);
      const problems = messageProblems(body);
      this.responses.push({ id: decodeURIComponent(respond[1]!), body, at: Date.now(), via: 'response_url', ...(problems.length ? { error: `invalid_blocks: ${problems.join('; ')}` } : {}) });
      res.writeHead(problems.length ? 400 : 200, { 'content-type': 'text/plain' }).end(problems.length ? 'invalid_blocks' : 'ok');
      return;
    }
    const method = /^\/api\/([a-zA-Z.]+)$/.exec(url.pathname)?.[1];
    const args = parseBody(req.headers['content-type'], raw);
    const record = (ok: boolean, error?: string) => this.calls.push({ method: method ?? url.pathname, args, at: Date.now(), ok, ...(error ? { error } : {}) });
    const answer = (body: Record<string, unknown>, status = 200, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    if (!method || !(method in REQUIRED)) {
      record(false, 'unknown_method');
      return answer({ ok: false, error: 'unknown_method' });
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '') || args.token;
    if (token !== this.botToken) {
      record(false, 'invalid_auth');
      return answer({ ok: false, error: 'invalid_auth' });
    }
    const fault = this.faults.find((f) => f.method === method && f.times > 0);
    if (fault) {
      fault.times--;
      if (fault.status === 429) {
        record(false, 'ratelimited');
        return answer({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(fault.retryAfter ?? 1) });
      }
      record(false, 'internal_error');
      return answer({ ok: false, error: 'internal_error' }, 500);
    }
    const missing = REQUIRED[method]!.find((anyOf) => anyOf.every((name) => args[name] === undefined || args[name] === ''));
    if (missing) {
      record(false, 'invalid_arguments');
      return answer({ ok: false, error: 'invalid_arguments', response_metadata: { messages: [`missing required field: ${missing.join(' or ')}`] } });
    }
    const problems = method.startsWith('views.') ? viewProblems(args.view) : method.startsWith('chat.') ? messageProblems(args) : [];
    if (problems.length) {
      record(false, 'invalid_blocks');
      return answer({ ok: false, error: 'invalid_blocks', response_metadata: { messages: problems } });
    }
    const result = this.perform(method, args);
    record(result.ok === true, result.ok === true ? undefined : String(result.error));
    answer(result);
  }

  private perform(method: string, args: Record<string, any>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://test.slack.com/', team: 'Test', user: 'doorman', team_id: 'T0TEST', user_id: 'U0BOT', bot_id: 'B0BOT' };
      case 'users.info': {
        const user = this.users.get(args.user);
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: { id: args.user, name: user.name ?? args.user.toLowerCase(), real_name: user.name, deleted: !!user.deleted, is_bot: false, profile: { real_name: user.name, display_name: user.name, ...(user.email ? { email: user.email } : {}) } },
        };
      }
      case 'chat.postMessage': {
        // A DM addressed to a user id lands in the bot's IM channel with them.
        const channel = /^[UW]/.test(args.channel) ? `D${args.channel.slice(1)}` : args.channel;
        const ts = `${1_700_000_000 + ++this.seq}.000100`;
        this.messages.set(`${channel}/${ts}`, { channel, ts });
        return { ok: true, channel, ts, message: { text: args.text, blocks: args.blocks } };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${1_700_000_000 + ++this.seq}.000200` };
      case 'chat.update':
        if (!this.messages.has(`${args.channel}/${args.ts}`)) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'views.open':
      case 'views.update':
      case 'views.publish':
        return { ok: true, view: { id: `V${++this.seq}`, ...args.view } };
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(args.users).slice(1)}` } };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function parseBody(contentType: string | undefined, raw: string): Record<string, any> {
  if (!raw) return {};
  if ((contentType ?? '').includes('application/json')) return JSON.parse(raw) as Record<string, any>;
  const out: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // The Web API client sends objects and arrays as JSON strings inside the form.
    out[key] = /^[[{]/.test(value) ? safeJson(value) : value === 'true' ? true : value === 'false' ? false : value;
  }
  return out;
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

// ------------------------------------------------------------------ Block Kit limits

const len = (s: unknown) => (typeof s === 'string' ? [...s].length : 0);

export function messageProblems(message: Record<string, any>): string[] {
  const problems: string[] = [];
  if (len(message.text) > 40_000) problems.push('text longer than 40000');
  if (message.blocks !== undefined) {
    if (!Array.isArray(message.blocks)) return ['blocks is not an array'];
    if (message.blocks.length > 50) problems.push(`${message.blocks.length} blocks in a message (max 50)`);
    problems.push(...blockProblems(message.blocks));
  }
  return problems;
}

function viewProblems(view: any): string[] {
  if (!view || typeof view !== 'object') return ['view is not an object'];
  const problems: string[] = [];
  if (!['modal', 'home'].includes(view.type)) problems.push(`view type "${view.type}"`);
  if (!Array.isArray(view.blocks)) return [...problems, 'view without blocks'];
  if (view.blocks.length > 100) problems.push(`${view.blocks.length} blocks in a view (max 100)`);
  if (view.type === 'modal') {
    if (!view.title?.text) problems.push('modal without a title');
    if (len(view.title?.text) > 24) problems.push(`modal title "${view.title.text}" longer than 24`);
    if (len(view.submit?.text) > 24) problems.push('submit longer than 24');
    if (len(view.close?.text) > 24) problems.push('close longer than 24');
    if (view.blocks.some((b: any) => b.type === 'input') && !view.submit) problems.push('a modal with inputs needs a submit button');
  }
  if (len(view.private_metadata) > 3000) problems.push('private_metadata longer than 3000');
  if (len(view.callback_id) > 255) problems.push('callback_id longer than 255');
  problems.push(...blockProblems(view.blocks));
  return problems;
}

function textProblems(where: string, text: any, max: number, types: string[] = ['plain_text', 'mrkdwn']): string[] {
  if (!text || typeof text !== 'object') return [`${where}: missing text object`];
  if (!types.includes(text.type)) return [`${where}: text type ${text.type}`];
  if (typeof text.text !== 'string' || text.text.length === 0) return [`${where}: empty text`];
  return len(text.text) > max ? [`${where}: ${len(text.text)} characters (max ${max})`] : [];
}

function blockProblems(blocks: any[]): string[] {
  const problems: string[] = [];
  const actionIds = new Set<string>();
  const blockIds = new Set<string>();
  const element = (where: string, el: any) => {
    if (typeof el.action_id === 'string') {
      if (len(el.action_id) > 255) problems.push(`${where}: action_id longer than 255`);
      if (actionIds.has(el.action_id)) problems.push(`${where}: action_id "${el.action_id}" is not unique`);
      actionIds.add(el.action_id);
    }
    if (el.type === 'button') {
      problems.push(...textProblems(`${where} button`, el.text, 75, ['plain_text']));
      if (len(el.value) > 2000) problems.push(`${where}: button value longer than 2000`);
      if (el.style !== undefined && !['primary', 'danger'].includes(el.style)) problems.push(`${where}: button style ${el.style}`);
    }
    if (el.confirm) {
      problems.push(...textProblems(`${where} confirm title`, el.confirm.title, 100, ['plain_text']));
      problems.push(...textProblems(`${where} confirm text`, el.confirm.text, 300));
      problems.push(...textProblems(`${where} confirm button`, el.confirm.confirm, 30, ['plain_text']));
      problems.push(...textProblems(`${where} confirm deny`, el.confirm.deny, 30, ['plain_text']));
    }
    if (Array.isArray(el.options)) {
      if (el.options.length > 100) problems.push(`${where}: more than 100 options`);
      for (const option of [...el.options, ...(el.initial_option ? [el.initial_option] : [])]) {
        problems.push(...textProblems(`${where} option`, option.text, 75, ['plain_text']));
        if (len(option.value) > 150) problems.push(`${where}: option value longer than 150`);
      }
      if (el.initial_option && !el.options.some((o: any) => o.value === el.initial_option.value)) problems.push(`${where}: initial_option is not one of the options`);
    }
    if (el.placeholder) problems.push(...textProblems(`${where} placeholder`, el.placeholder, 150, ['plain_text']));
  };
  blocks.forEach((block, i) => {
    const where = `block ${i} (${block?.type})`;
    if (typeof block.block_id === 'string') {
      if (len(block.block_id) > 255) problems.push(`${where}: block_id longer than 255`);
      if (blockIds.has(block.block_id)) problems.push(`${where}: block_id "${block.block_id}" is not unique`);
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'section':
        if (!block.text && !block.fields) problems.push(`${where}: neither text nor fields`);
        if (block.text) problems.push(...textProblems(where, block.text, 3000));
        if (block.fields) {
          if (block.fields.length > 10) problems.push(`${where}: more than 10 fields`);
          block.fields.forEach((f: any, j: number) => problems.push(...textProblems(`${where} field ${j}`, f, 2000)));
        }
        if (block.accessory) element(where, block.accessory);
        break;
      case 'actions':
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25) problems.push(`${where}: 1–25 elements`);
        for (const el of block.elements ?? []) element(where, el);
        break;
      case 'context':
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10) problems.push(`${where}: 1–10 elements`);
        for (const el of block.elements ?? []) if (el.type !== 'image') problems.push(...textProblems(where, el, 3000));
        break;
      case 'header':
        problems.push(...textProblems(where, block.text, 150, ['plain_text']));
        break;
      case 'divider':
        break;
      case 'input':
        problems.push(...textProblems(`${where} label`, block.label, 2000, ['plain_text']));
        if (block.hint) problems.push(...textProblems(`${where} hint`, block.hint, 2000, ['plain_text']));
        if (!block.element) problems.push(`${where}: no element`);
        else element(where, block.element);
        break;
      default:
        problems.push(`${where}: block type not used by Doorman`);
    }
  });
  return problems;
}
