import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { issueTrigger as issueTriggerId, triggerIssuedAt } from './slack-payloads.js';
import { closeServer } from './net.js';
import type { SocketEnvelope } from './slack-socket.js';

/**
 * A strict stand-in for Slack's Web API, reached through SLACK_API_URL. It refuses what Slack
 * refuses (the sources are in docs/research/slack-platform.md):
 *
 * - a method whose scope `manifest.yml` (repository root) does not grant: `missing_scope`, with
 *   `needed` and `provided` as Slack gives them (METHOD_SCOPES below); users.info leaves
 *   `profile.email` out unless the manifest grants users:read.email;
 * - the wrong kind of token: the bot token for Web API methods, the app-level token (xapp-, sent in
 *   the Authorization header) only for apps.connections.open: `not_allowed_token_type`;
 * - views.open / views.push with a trigger id Slack never sent (`invalid_trigger_id`), one sent more
 *   than `triggerLifetimeMs` (3 s) ago (`expired_trigger_id`), or one already exchanged
 *   (`exchanged_trigger_id`). Trigger ids are issued by the payload builders in slack-payloads.ts
 *   (each request the tests send as Slack issues its own) or by `issueTrigger()`;
 * - views.update with an unknown view (`not_found`) or a stale hash (`hash_conflict`); views.publish
 *   of a home view while the manifest has no Home tab (`not_enabled`);
 * - chat.postMessage / chat.postEphemeral to a public channel (C…) the bot is not in
 *   (`not_in_channel`, unless chat:write.public is granted, which lets chat.postMessage post to
 *   public channels) or to a private channel (G…) it is not in (`channel_not_found`). User ids and
 *   DM ids (D…) are fine: a DM to a user id opens the bot's DM with them. `joinChannel()` adds the bot;
 * - more than `responseUrlLimit` (5) posts to one response_url, or one after
 *   `responseUrlLifetimeMs` (30 min) (see handleResponseUrl for the answer given);
 * - Block Kit that breaks Slack's limits or puts an element where Slack does not allow it (in a
 *   block, or on a surface: a file input in a message, say) (`invalid_blocks`), missing required arguments
 *   (`invalid_arguments`), unknown methods (`unknown_method`). A message `text` over 40,000
 *   characters is not refused: as Slack does, the answer carries it cut to 40,000 with a
 *   `message_truncated` warning.
 *
 * It also serves files added with `addFile()` at their `url_private(_download)`, only to a request
 * with `Authorization: Bearer <bot token>` from an app granted files:read; anything else is
 * redirected to a sign-in page on another host (`otherOrigin`) that answers 200 text/html, as Slack
 * does. With `gridFileHost` it answers downloads as Enterprise Grid's files.slack.com does: a
 * redirect to files-origin.slack.com (here `/files-origin/…`), which wants the token too.
 *
 * It records every call, can answer 429 or 500 (`fail`), can be slow per method (`delay`), and
 * takes the posts Bolt's respond() makes to `response_url`s. Its limit checks are written here on
 * their own, apart from src/slack/blocks/limits.ts, so that a mistake in one is caught by the other.
 */

export interface ApiCall {
  method: string;
  args: Record<string, any>;
  /** When the call arrived. */
  at: number;
  /** What the stand-in answered. */
  ok: boolean;
  error?: string;
  /** The stand-in's answer to a call it took (e.g. the `ts` of a posted message). */
  answer?: Record<string, any>;
  /** Refused by a fault a test set up (`fail`, `refuse`), not for anything the app sent. */
  provoked?: true;
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
  /** The user's own workspace; another team's id makes a Slack Connect (external) user. Default T0TEST. */
  team_id?: string;
  /** Default true. */
  is_email_confirmed?: boolean;
  /** A guest (multi-channel). */
  is_restricted?: boolean;
  /** A single-channel guest. */
  is_ultra_restricted?: boolean;
  /** A user of another workspace seen through a shared channel; users.info sends the field only when true. */
  is_stranger?: boolean;
  is_bot?: boolean;
  is_admin?: boolean;
  is_owner?: boolean;
  /** Enterprise Grid users carry this object (enterprise_id, enterprise_name, teams, …). */
  enterprise_user?: Record<string, unknown>;
  /** Slack does not show this user to the app (users.info answers `user_not_visible`). */
  invisible?: boolean;
  tz?: string;
}

/** A file as Slack describes it (files.info, view_submission file_input values). */
export interface SlackTestFile {
  id: string;
  created: number;
  timestamp: number;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  pretty_type: string;
  user: string;
  user_team: string;
  editable: boolean;
  size: number;
  mode: 'hosted';
  is_external: boolean;
  external_type: string;
  is_public: boolean;
  public_url_shared: boolean;
  display_as_bot: boolean;
  username: string;
  url_private: string;
  url_private_download: string;
  permalink: string;
  [key: string]: unknown;
}

export interface FileDownload {
  fileId: string;
  at: number;
  /** Whether the content was served (authorized) or the sign-in page. */
  served: boolean;
  /** Where the download was redirected, if it was. */
  redirectedTo?: string;
}

/** What `apps.connections.open` hands out: the Socket Mode stand-in (test/support/slack-socket.ts). */
export interface SocketUrlIssuer {
  issueUrl(): string;
  /** Set by the Web API stand-in: an answer carried by a Socket Mode ack, checked as one over HTTP is. */
  onAnswer?: ((envelope: SocketEnvelope, answer: Record<string, unknown>) => void) | undefined;
}

export interface SlackApiStandInOptions {
  /** The app-level token apps.connections.open accepts. Default `xapp-1-A0DOORMAN-test`. */
  appToken?: string;
  /** Scopes of the app-level token. Default connections:write. */
  appTokenScopes?: string[];
  /** The manifest whose bot scopes and features the stand-in enforces. Default `<repo>/manifest.yml`. */
  manifestPath?: string;
  /** Bot scopes to grant instead of the manifest's. */
  scopes?: string[];
  /** The Socket Mode stand-in apps.connections.open points the app at. */
  socket?: SocketUrlIssuer;
}

/** A provoked failure: an HTTP status (429, 500), or a platform error Slack answers with 200 (`channel_not_found`). */
type Fault = { method: string; status: 429 | 500 | 200; error?: string; retryAfter?: number; times: number; channel?: string; ts?: string; user?: string };
type Answer = Record<string, unknown>;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEAM_ID = 'T0TEST';

/**
 * The scopes each method needs from a bot token (any one of a list will do), from each method's
 * reference page (docs.slack.dev/reference/methods/…): views.* and auth.test need none.
 */
export const METHOD_SCOPES: Record<string, string[]> = {
  'auth.test': [],
  'users.info': ['users:read'],
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'views.open': [],
  'views.push': [],
  'views.update': [],
  'views.publish': [],
  // A 1:1 DM needs im:write; a group DM mpim:write (channels:manage / groups:write also qualify).
  'conversations.open': ['im:write', 'mpim:write', 'channels:manage', 'groups:write'],
  'files.info': ['files:read'],
  // App-level token scope.
  'apps.connections.open': ['connections:write'],
};

/** The largest view Slack takes (`view_too_large`). */
const MAX_VIEW_BYTES = 250_000;

/** Required arguments: each inner list is "one of these". */
const REQUIRED: Record<string, string[][]> = {
  'auth.test': [],
  'users.info': [['user']],
  'chat.postMessage': [['channel'], ['text', 'blocks', 'attachments']],
  'chat.postEphemeral': [['channel'], ['user'], ['text', 'blocks', 'attachments']],
  'chat.update': [['channel'], ['ts'], ['text', 'blocks', 'attachments']],
  'views.open': [['trigger_id', 'interactivity_pointer'], ['view']],
  'views.push': [['trigger_id', 'interactivity_pointer'], ['view']],
  'views.update': [['view'], ['view_id', 'external_id']],
  'views.publish': [['user_id'], ['view']],
  'conversations.open': [['users', 'channel']],
  'files.info': [['file']],
  'apps.connections.open': [],
};

interface ManifestFacts {
  botScopes: string[];
  homeTabEnabled: boolean;
  messagesTabEnabled: boolean;
}

function readManifest(file: string): ManifestFacts {
  const doc = parseYaml(readFileSync(file, 'utf8')) as any;
  const bot = doc?.oauth_config?.scopes?.bot;
  return {
    botScopes: Array.isArray(bot) ? bot.map(String) : [],
    homeTabEnabled: doc?.features?.app_home?.home_tab_enabled === true,
    messagesTabEnabled: doc?.features?.app_home?.messages_tab_enabled !== false,
  };
}

/** A view hash in Slack's form (seconds, a dot, hex). */
function newViewHash(): string {
  return `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`;
}

export class SlackApiStandIn {
  readonly calls: ApiCall[] = [];
  readonly responses: ResponseUrlPost[] = [];
  readonly users = new Map<string, SlackTestUser>();
  readonly files = new Map<string, SlackTestFile>();
  readonly downloads: FileDownload[] = [];
  /** How long a trigger id can be exchanged after Slack sent it (real time). */
  triggerLifetimeMs = 3_000;
  /** Posts one response_url takes ("up to 5 times within 30 minutes"). */
  responseUrlLimit = 5;
  responseUrlLifetimeMs = 30 * 60_000;
  /** The bot scopes in force (the manifest's unless given); `grant`/`revoke` change them. */
  readonly scopes: Set<string>;
  readonly appToken: string;
  socket: SocketUrlIssuer | undefined;
  private readonly appTokenScopes: Set<string>;
  private readonly manifest: ManifestFacts;
  private readonly faults: Fault[] = [];
  private readonly downloadFaults: Array<{ status: number | 'cut' | 'hang'; times: number }> = [];
  private readonly heldDownloads: Array<() => void> = [];
  private readonly downloadRedirects: Array<{ location: string; times: number }> = [];
  /** Downloads answered as Enterprise Grid's files.slack.com answers them: redirected to files-origin. */
  gridFileHost = false;
  /** The bot token is an organization-wide installation's on Enterprise Grid: auth.test names the organization, not a workspace. */
  orgWideInstall = false;
  /** Requests that reached `otherOrigin`'s `/elsewhere/…` (where a redirect may point), with the token they carried. */
  readonly strayRequests: Array<{ path: string; authorization: string | undefined }> = [];
  private readonly delays = new Map<string, number>();
  private readonly holds = new Map<string, { when: (args: Record<string, any>) => boolean; released: Promise<void> }>();
  private readonly inFlight = new Map<string, number>();
  /** The most calls to a method (one given a `delay`) waiting at once. */
  readonly mostAtOnce = new Map<string, number>();
  private readonly messages = new Map<string, { channel: string; ts: string; text?: unknown; blocks?: unknown[] }>();
  private readonly channels = new Map<string, { private: boolean; member: boolean }>();
  /** Channel names (without #) to ids: chat.postMessage takes "an encoded ID, or a name". */
  private readonly channelNames = new Map<string, string>();
  private readonly exchangedTriggers = new Set<string>();
  private readonly closedViews = new Set<string>();
  private readonly views = new Map<string, { id: string; hash: string; externalId?: string; type: string; user?: string }>();
  private readonly responseUrls = new Map<string, { issuedAt: number; posts: number; source: 'ephemeral' | 'message' }>();
  private fileContents = new Map<string, Buffer>();
  private server: http.Server | undefined;
  private port = 0;
  /** Another host (Slack's sign-in page, or anywhere a redirect may point): its own port, so its own origin. */
  private otherServer: http.Server | undefined;
  private otherPort = 0;
  private seq = 0;
  private waiters: Array<() => void> = [];

  constructor(
    readonly botToken = 'xoxb-test',
    options: SlackApiStandInOptions = {},
  ) {
    this.appToken = options.appToken ?? 'xapp-1-A0DOORMAN-test';
    this.appTokenScopes = new Set(options.appTokenScopes ?? ['connections:write']);
    this.manifest = readManifest(options.manifestPath ?? path.join(ROOT, 'manifest.yml'));
    this.scopes = new Set(options.scopes ?? this.manifest.botScopes);
    this.socket = options.socket;
    // Slack checks what an ack carries whichever way it came: a view submission's answer as a view,
    // a slash command's as a message.
    if (this.socket) {
      this.socket.onAnswer = (envelope, answer) => {
        const payload = envelope.payload as { type?: string; view?: { id?: string; blocks?: unknown[] } };
        if (envelope.type === 'interactive' && payload.type === 'view_submission') this.viewAck(answer, payload.view?.id, payload.view);
        else if (envelope.type === 'slash_commands' && Object.keys(answer).length) {
          // Filed with the command's own response_url posts, as an answer over HTTP is.
          const responseUrl = String((envelope.payload as { response_url?: unknown }).response_url ?? '');
          const id = /\/respond\/([^/?]+)/.exec(responseUrl)?.[1];
          this.ackAnswer(id ? decodeURIComponent(id) : `socket:${envelope.envelope_id}`, answer);
        }
      };
    }
  }

  static async start(botToken?: string, options?: SlackApiStandInOptions): Promise<SlackApiStandIn> {
    const api = new SlackApiStandIn(botToken, options);
    await api.listen();
    return api;
  }

  /** SLACK_API_URL for the app (without the trailing slash, which the app must add). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /**
   * A response_url for one request; what the app posts there is kept under `id`. Its 30 minutes start
   * at the first call. `source`: what it answers — an ephemeral message (a command's, or a click on
   * one), or a message everyone in the conversation sees (a click on a DM the bot posted).
   */
  responseUrl(id: string, source: 'ephemeral' | 'message' = 'ephemeral'): string {
    if (!this.responseUrls.has(id)) this.responseUrls.set(id, { issuedAt: Date.now(), posts: 0, source });
    return `http://127.0.0.1:${this.port}/respond/${encodeURIComponent(id)}`;
  }

  /**
   * A command's acknowledgement that carried an answer: Slack shows it as the command's reply, so
   * it is kept with the response_url posts of that request (checked against the same limits). It
   * does not use up one of the response_url's 5 posts: Slack's "respond … up to 5 times within 30
   * minutes" is about the response_url (delayed responses); the immediate answer is the reply to
   * Slack's own request, not a post to the URL.
   */
  ackAnswer(id: string, body: Record<string, any>): void {
    const problems = messageProblems(body);
    this.responses.push({ id, body, at: Date.now(), via: 'ack', ...(problems.length ? { error: `invalid_blocks: ${problems.join('; ')}` } : {}) });
    this.wake();
  }

  /**
   * How long the app took to acknowledge a request sent over HTTP. Slack gives up after 3 s: the
   * person sees an error (operation_timeout) and any answer in the ack is dropped; kept here as a
   * refusal, so `rejected()` reports it (a test provoking it names the error).
   */
  ackTime(what: string, ms: number): void {
    if (ms < ACK_TIMEOUT_MS) return;
    this.calls.push({ method: `${what} ack`, args: { ms }, at: Date.now(), ok: false, error: 'operation_timeout' });
    this.wake();
  }

  /**
   * A view submission's ack: a view it answers with (`update`, `push`) is checked as views.update
   * checks one, `errors` must name input blocks of the view submitted (`submitted`, when its blocks are given), and an ack with no view closes the modal. Slack shows a view it refuses only as "We had some
   * trouble connecting" in the modal; here the refusal is kept, so `rejected()` reports it.
   */
  viewAck(body: unknown, viewId?: string, submitted?: { blocks?: unknown[] }): void {
    const ack = (body && typeof body === 'object' ? body : {}) as Record<string, any>;
    // An ack without a response_action (or with `clear`) closes the modal: a later views.update of it is not_found.
    if (viewId && (ack.response_action === undefined || ack.response_action === 'clear')) this.views.delete(viewId);
    // Slack shows an error only under an input block of the submitted view (its blocks come with the
    // submission): one naming anything else is refused.
    const inputs = submitted?.blocks?.length ? inputBlockIds(submitted) : undefined;
    const notInputs = ack.response_action === 'errors' && inputs && ack.errors && typeof ack.errors === 'object' ? Object.keys(ack.errors).filter((key) => !inputs.has(key)) : [];
    const problems =
      ack.response_action === 'update' || ack.response_action === 'push'
        ? viewProblems(ack.view)
        : ack.response_action === 'errors' && (!ack.errors || typeof ack.errors !== 'object' || Object.keys(ack.errors).length === 0 || Object.values(ack.errors).some((m) => typeof m !== 'string' || !m))
          ? ['errors without a field and its message']
          : notInputs.length
            ? [`errors naming no input block of the view: ${notInputs.join(', ')}`]
            : [];
    if (problems.length) this.calls.push({ method: 'view_submission ack', args: ack, at: Date.now(), ok: false, error: `invalid_view: ${problems.join('; ')}` });
    // The view the submission came from, drawn anew by an `update` Slack takes, gets a new hash as views.update gives one.
    const open = viewId ? this.views.get(viewId) : undefined;
    if (open && ack.response_action === 'update' && !problems.length) open.hash = newViewHash();
    this.wake();
  }

  /** Issues a trigger id (default: a new one in Slack's format), as Slack does when it sends an interaction now. */
  issueTrigger(id?: string): string {
    return issueTriggerId(id);
  }

  /** A message as Slack keeps it now (after its updates): its text and blocks. */
  message(channel: string, ts: string): { text?: unknown; blocks?: unknown[] } | undefined {
    return this.messages.get(`${channel}/${ts}`);
  }

  /** The next `times` calls to `method` answer with this status. */
  fail(method: string, status: 429 | 500, options: { retryAfter?: number; times?: number; channel?: string; user?: string } = {}): void {
    this.faults.push({ method, status, retryAfter: options.retryAfter, times: options.times ?? 1, channel: options.channel, user: options.user });
  }

  /** The next `times` calls to `method` are refused with a platform error (HTTP 200, `ok: false`), as Slack refuses for good. */
  refuse(method: string, error: string, options: { times?: number; channel?: string; ts?: string } = {}): void {
    this.faults.push({ method, status: 200, error, times: options.times ?? 1, channel: options.channel, ts: options.ts });
  }

  /**
   * The next `times` file downloads answer `status` (the file host out of reach), or `cut`: half the
   * file, then the connection closed, or `hang`: nothing until `releaseDownloads()`, then as usual.
   */
  failDownloads(status: 500 | 503 | 'cut' | 'hang', times = 1): void {
    this.downloadFaults.push({ status, times });
  }

  /** How many downloads `failDownloads('hang')` holds now. */
  get downloadsHeld(): number {
    return this.heldDownloads.length;
  }

  /** Answers the downloads held by `failDownloads('hang')`. */
  releaseDownloads(): void {
    for (const release of this.heldDownloads.splice(0)) release();
  }

  /** The next `times` file downloads are redirected to `location`. */
  redirectDownloads(location: string, times = 1): void {
    this.downloadRedirects.push({ location, times });
  }

  /** A host that is not Slack's file host: Slack's sign-in page at `/`, and `/elsewhere/…`, which records who came. */
  get otherOrigin(): string {
    return `http://127.0.0.1:${this.otherPort}`;
  }

  /** Every call to `method` takes `ms` before it is answered (0 removes the delay). */
  delay(method: string, ms: number): void {
    if (ms > 0) this.delays.set(method, ms);
    else this.delays.delete(method);
  }

  /**
   * Holds the calls to `method` that `when` picks, unanswered and without effect, until the returned
   * release is called: calls that arrive meanwhile overtake them, as on the network.
   */
  hold(method: string, when: (args: Record<string, any>) => boolean): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.set(method, { when, released });
    return () => {
      this.holds.delete(method);
      release();
    };
  }

  /** Calls to `method` waiting now (on its `delay` or `hold`). */
  waiting(method: string): number {
    return this.inFlight.get(method) ?? 0;
  }

  /** Adds the bot to a channel (C… public, G… private unless said otherwise), with the name a post may give instead of its id. */
  joinChannel(id: string, options: { private?: boolean; name?: string } = {}): void {
    this.addChannel(id, { ...options, member: true });
  }

  /** Declares a channel the bot is not in (or is, with `member`). Unknown C… ids count as public channels without the bot. */
  addChannel(id: string, options: { private?: boolean; member?: boolean; name?: string } = {}): void {
    this.channels.set(id, { private: options.private ?? id.startsWith('G'), member: options.member ?? false });
    if (options.name) this.channelNames.set(options.name, id);
  }

  grant(...scopes: string[]): void {
    for (const s of scopes) this.scopes.add(s);
  }

  revoke(...scopes: string[]): void {
    for (const s of scopes) this.scopes.delete(s);
  }

  /** A view Slack has open (e.g. the one a view_submission payload names), so views.update can find it. */
  registerView(id: string, options: { hash?: string; type?: string; externalId?: string } = {}): void {
    this.closedViews.delete(id);
    this.views.set(id, { id, hash: options.hash ?? newViewHash(), type: options.type ?? 'modal', externalId: options.externalId });
  }

  /** The hash of an open view as Slack has it now (what a click on it carries). */
  viewHash(id: string): string {
    const view = this.views.get(id);
    if (!view) throw new Error(`no open view ${id}`);
    return view.hash;
  }

  /** The person closed the view (Slack sends no view_closed unless the view asked): views.update finds it no more (`not_found`). */
  closeView(id: string): void {
    this.views.delete(id);
    this.closedViews.add(id);
  }

  /** A file someone uploaded; served at its url_private(_download) to the bot token with files:read. */
  addFile(o: { name: string; content: string | Buffer; filetype?: string; mimetype?: string; title?: string; user?: string }): SlackTestFile {
    const id = `F${String(++this.seq).padStart(10, '0')}`;
    const content = typeof o.content === 'string' ? Buffer.from(o.content, 'utf8') : o.content;
    const name = o.name;
    const filetype = o.filetype ?? (path.extname(name).slice(1).toLowerCase() || 'text');
    const base = `http://127.0.0.1:${this.port}/files-pri/${TEAM_ID}-${id}`;
    const now = Math.floor(Date.now() / 1000);
    const file: SlackTestFile = {
      id,
      created: now,
      timestamp: now,
      name,
      title: o.title ?? name,
      mimetype: o.mimetype ?? (filetype === 'csv' ? 'text/csv' : 'text/plain'),
      filetype,
      pretty_type: filetype.toUpperCase(),
      user: o.user ?? 'U0ADMIN',
      user_team: TEAM_ID,
      editable: false,
      size: content.length,
      mode: 'hosted',
      is_external: false,
      external_type: '',
      is_public: false,
      public_url_shared: false,
      display_as_bot: false,
      username: '',
      url_private: `${base}/${encodeURIComponent(name)}`,
      url_private_download: `${base}/download/${encodeURIComponent(name)}`,
      permalink: `https://test.slack.com/files/${o.user ?? 'U0ADMIN'}/${id}/${encodeURIComponent(name)}`,
    };
    this.files.set(id, file);
    this.fileContents.set(id, content);
    return file;
  }

  callsTo(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method && c.ok);
  }

  /** Calls to `method` the stand-in answered with an error (a fault a test set up, say). */
  failedCallsTo(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method && !c.ok);
  }

  responsesTo(id: string): ResponseUrlPost[] {
    return this.responses.filter((r) => r.id === id);
  }

  /**
   * Calls or posts the stand-in refused: a test fails if the app sent Slack something invalid.
   * Refusals of the faults a test set up (`fail`, `refuse`) are left out; other errors a test
   * brings about on purpose (an invisible user, say) can be named to leave them out.
   */
  rejected(...expected: string[]): Array<ApiCall | ResponseUrlPost> {
    const leaveOut = new Set(expected);
    return [...this.calls.filter((c) => !c.ok && !c.provoked && !leaveOut.has(c.error ?? '')), ...this.responses.filter((r) => r.error && !leaveOut.has(r.error.split(':')[0]!))];
  }

  /** Waits until `check` returns something truthy (re-checked on every call received). */
  async waitFor<T>(check: () => T | undefined | false | null, timeoutMs = 8_000, what = 'the expected Slack call'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; calls so far: ${this.calls.map((c) => c.method + (c.ok ? '' : `(${c.error})`)).join(', ')}; responses: ${this.responses.length}`);
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
    const [server, other] = [this.server, this.otherServer];
    this.server = this.otherServer = undefined;
    await Promise.all([closeServer(server), closeServer(other)]);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async listen(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      const arrived = Date.now();
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        this.handle(req, res, raw, arrived)
          .catch((error: unknown) => {
            if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
          })
          .finally(() => this.wake());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server!.address() as AddressInfo).port;
    this.otherServer = http.createServer((req, res) => this.handleOtherHost(req, res));
    await new Promise<void>((resolve) => this.otherServer!.listen(0, '127.0.0.1', () => resolve()));
    this.otherPort = (this.otherServer!.address() as AddressInfo).port;
  }

  private handleOtherHost(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/elsewhere/')) {
      this.strayRequests.push({ path: url.pathname, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'text/csv' }).end('email\nstray@corp.test\n');
    } else {
      // Where Slack sends a browser (or a download without a usable token): its sign-in page, 200.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!DOCTYPE html><html lang="en-US"><head><title>Slack</title></head><body>Sign in to Test | Slack</body></html>');
    }
    this.wake();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string, arrived: number): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const respond = /^\/respond\/(.+)$/.exec(url.pathname);
    if (respond && req.method === 'POST') return this.handleResponseUrl(decodeURIComponent(respond[1]!), req, res, raw);
    if (url.pathname.startsWith('/files-pri/')) return this.handleFile(url, req, res);
    if (url.pathname.startsWith('/files-origin/files-pri/')) return this.handleFile(url, req, res, true);

    const method = /^\/api\/([a-zA-Z.]+)$/.exec(url.pathname)?.[1];
    const args = parseBody(req.headers['content-type'], raw);
    const record = (ok: boolean, error?: string, taken?: Answer, provoked = false) =>
      this.calls.push({ method: method ?? url.pathname, args, at: arrived, ok, ...(error ? { error } : {}), ...(taken ? { answer: taken } : {}), ...(provoked ? { provoked } : {}) });
    const answer = (body: Answer, status = 200, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
    };
    const refuse = (error: string, extra: Answer = {}, provoked = false) => {
      record(false, error, undefined, provoked);
      answer({ ok: false, error, ...extra });
    };
    if (!method || !(method in REQUIRED)) return refuse('unknown_method');

    const delay = this.delays.get(method);
    const held = this.holds.get(method);
    const until = held?.when(args) ? held.released : delay ? new Promise((resolve) => setTimeout(resolve, delay)) : undefined;
    if (until) {
      // Calls waiting at once, per method: what a burst of them looks like to Slack.
      const now = (this.inFlight.get(method) ?? 0) + 1;
      this.inFlight.set(method, now);
      this.mostAtOnce.set(method, Math.max(now, this.mostAtOnce.get(method) ?? 0));
      await until;
      this.inFlight.set(method, this.inFlight.get(method)! - 1);
    }

    const header = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    const token = header || args.token;
    if (!token) return refuse('not_authed');
    if (method === 'apps.connections.open') {
      // The app-level token, and only in the Authorization header.
      if (token === this.botToken) return refuse('not_allowed_token_type');
      if (!header || token !== this.appToken) return refuse('invalid_auth');
    } else {
      if (token === this.appToken) return refuse('not_allowed_token_type');
      if (token !== this.botToken) return refuse('invalid_auth');
    }

    const granted = method === 'apps.connections.open' ? this.appTokenScopes : this.scopes;
    const needs = METHOD_SCOPES[method] ?? [];
    if (needs.length > 0 && !needs.some((s) => granted.has(s))) {
      const needed = method === 'conversations.open' && String(args.users ?? '').includes(',') ? 'mpim:write' : needs[0]!;
      return refuse('missing_scope', { needed, provided: [...granted].join(',') });
    }

    const missing = REQUIRED[method]!.find((anyOf) => anyOf.every((name) => args[name] === undefined || args[name] === ''));
    // A message with nothing to show (no text, and no blocks or attachments, or empty ones): Slack's no_text.
    const content = ['text', 'blocks', 'attachments'].some((name) => args[name] !== undefined && args[name] !== '' && !(Array.isArray(args[name]) && args[name].length === 0));
    if (method.startsWith('chat.') && method !== 'chat.delete' && (missing?.includes('text') || !content)) return refuse('no_text');
    if (missing) return refuse('invalid_arguments', { response_metadata: { messages: [`[ERROR] missing required field: ${missing.join(' or ')}`] } });

    // views.update and views.push name the limit: a view of more than 250 kB.
    if (method.startsWith('views.') && JSON.stringify(args.view ?? {}).length > MAX_VIEW_BYTES) return refuse('view_too_large');
    const problems = method.startsWith('views.') ? viewProblems(args.view) : method.startsWith('chat.') ? messageProblems(args) : [];
    if (problems.length) return refuse('invalid_blocks', { response_metadata: { messages: problems } });
    // Not documented, but Slack refuses a posted message whose blocks hold more than about 12,000
    // characters of text in all (slackapi/bolt-js#2509, #2867); a response_url post takes more.
    if (method.startsWith('chat.') && Array.isArray(args.blocks) && blockText(args.blocks) > MAX_BLOCKS_TEXT) return refuse('msg_blocks_too_long');

    // A fault a test set up answers only a call Slack would take: what the app sent is checked first.
    const fault = this.faults.find((f) => f.method === method && f.times > 0 && (f.channel === undefined || f.channel === args.channel) && (f.ts === undefined || f.ts === args.ts) && (f.user === undefined || f.user === args.user));
    if (fault) {
      fault.times--;
      if (fault.status === 429) {
        record(false, 'ratelimited', undefined, true);
        return answer({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(fault.retryAfter ?? 1) });
      }
      if (fault.status === 200) return refuse(fault.error!, {}, true);
      record(false, 'internal_error', undefined, true);
      return answer({ ok: false, error: 'internal_error' }, 500);
    }

    const result = this.perform(method, args);
    // An update of a view the test closed is refused as Slack would, but the app sent nothing wrong.
    const closed = method === 'views.update' && this.closedViews.has(String(args.view_id));
    record(result.ok === true, result.ok === true ? undefined : String(result.error), result.ok === true ? result : undefined, closed);
    answer(result);
  }

  /**
   * A post to a response_url. Slack documents the limit ("up to 5 times within 30 minutes") but
   * not its refusal; this answers the way Slack's hooks refuse other posts (a 4xx with the reason
   * as plain text): 404 `used_url` for the 6th post and 404 `expired_url` after 30 minutes. Bolt's
   * respond() throws on any non-2xx, so the app sees the refusal either way. Only accepted posts
   * count towards the 5.
   */
  private handleResponseUrl(id: string, req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const body = parseBody(req.headers['content-type'], raw);
    const issued = this.responseUrls.get(id);
    const refuse = (status: number, error: string) => {
      this.responses.push({ id, body, at: Date.now(), via: 'response_url', error });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(error);
    };
    if (!issued) return refuse(404, 'no_service');
    if (Date.now() - issued.issuedAt > this.responseUrlLifetimeMs) return refuse(404, 'expired_url');
    if (issued.posts >= this.responseUrlLimit) return refuse(404, 'used_url');
    const fields = (body ?? {}) as Record<string, unknown>;
    if (fields.delete_original !== true && fields.delete_original !== 'true' && !fields.text && !fields.blocks) return refuse(400, 'no_text');
    // "A message's type cannot be changed from ephemeral to in_channel" (nor back): Slack documents
    // the rule, not its answer to a replacement that asks for it; here it is refused and named.
    const replacing = fields.replace_original === true || fields.replace_original === 'true';
    const visibility = issued.source === 'ephemeral' ? 'ephemeral' : 'in_channel';
    if (replacing && fields.response_type !== undefined && fields.response_type !== visibility) return refuse(400, `cannot_change_visibility: the message is ${visibility}, the replacement asks for ${String(fields.response_type)}`);
    const problems = messageProblems(body);
    if (problems.length) return refuse(400, `invalid_blocks: ${problems.join('; ')}`);
    issued.posts++;
    this.responses.push({ id, body, at: Date.now(), via: 'response_url' });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  }

  /**
   * url_private(_download): the content for the bot token with files:read, else Slack's sign-in
   * redirect; on a Grid file host, first a redirect to files-origin (`origin`: the request is there).
   */
  private handleFile(url: URL, req: http.IncomingMessage, res: http.ServerResponse, origin = false): void {
    const match = /^(?:\/files-origin)?\/files-pri\/[A-Z0-9]+-(F[0-9A-Z]+)\/(?:download\/)?[^/]+$/.exec(url.pathname);
    const fileId = match?.[1];
    const file = fileId ? this.files.get(fileId) : undefined;
    const record = (download: Omit<FileDownload, 'fileId' | 'at'>) => this.downloads.push({ fileId: fileId ?? url.pathname, at: Date.now(), ...download });
    const redirect = (location: string) => {
      record({ served: false, redirectedTo: location });
      res.writeHead(302, { location, 'content-type': 'text/html' }).end('<a href="/">Found</a>.');
    };
    const fault = this.downloadFaults.find((f) => f.times > 0);
    if (fault?.status === 'hang') {
      fault.times--;
      this.heldDownloads.push(() => this.handleFile(url, req, res, origin));
      return;
    }
    if (fault) {
      fault.times--;
      record({ served: false });
      if (fault.status !== 'cut') {
        res.writeHead(fault.status, { 'content-type': 'text/plain' }).end('unavailable');
        return;
      }
      const content = (file && this.fileContents.get(file.id)) ?? Buffer.from('email\n');
      res.writeHead(200, { 'content-type': file?.mimetype ?? 'text/plain', 'content-length': String(content.length) });
      res.write(content.subarray(0, Math.floor(content.length / 2)), () => res.destroy());
      return;
    }
    const elsewhere = this.downloadRedirects.find((r) => r.times > 0);
    if (elsewhere) {
      elsewhere.times--;
      return redirect(elsewhere.location);
    }
    if (this.gridFileHost && !origin) return redirect(`/files-origin${url.pathname}`);
    const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    const served = !!file && token === this.botToken && this.scopes.has('files:read');
    if (!served) return redirect(`${this.otherOrigin}/?redir=${encodeURIComponent(url.pathname)}`);
    record({ served });
    const content = this.fileContents.get(file.id)!;
    res.writeHead(200, { 'content-type': file.mimetype, 'content-length': String(content.length) }).end(content);
  }

  private userObject(id: string, user: SlackTestUser): Answer {
    const teamId = user.team_id ?? TEAM_ID;
    const name = user.name ?? id;
    const showEmail = user.email !== undefined && this.scopes.has('users:read.email');
    return {
      id,
      team_id: teamId,
      name: name.toLowerCase().replace(/\s+/g, '.'),
      deleted: !!user.deleted,
      color: '9f69e7',
      real_name: name,
      tz: user.tz ?? 'Europe/London',
      tz_label: 'Greenwich Mean Time',
      tz_offset: 0,
      profile: {
        real_name: name,
        real_name_normalized: name,
        display_name: name,
        display_name_normalized: name,
        team: teamId,
        ...(showEmail ? { email: user.email } : {}),
      },
      is_admin: !!user.is_admin,
      is_owner: !!user.is_owner,
      is_primary_owner: false,
      is_restricted: !!user.is_restricted,
      is_ultra_restricted: !!user.is_ultra_restricted,
      is_bot: !!user.is_bot,
      is_app_user: false,
      updated: 1_700_000_000,
      is_email_confirmed: user.is_email_confirmed ?? true,
      who_can_share_contact_card: 'EVERYONE',
      ...(user.is_stranger ? { is_stranger: true } : {}),
      ...(user.enterprise_user ? { enterprise_user: user.enterprise_user } : {}),
    };
  }

  /** Whether the bot may post to `channel` (a user id, D…, C… or G…). */
  private channelRefusal(channel: string, method: string): string | undefined {
    // A user id opens the DM with that user (chat.postMessage only; an update needs the D… id the
    // post answered with); a DM id is the one Slack gave for a user. Anyone else does not exist.
    if (/^[UW]/.test(channel)) return method !== 'chat.update' && this.users.has(channel) ? undefined : 'channel_not_found';
    if (/^D/.test(channel)) return this.users.has(`U${channel.slice(1)}`) || this.users.has(`W${channel.slice(1)}`) ? undefined : 'channel_not_found';
    const known = this.channels.get(channel);
    if (/^C/.test(channel)) {
      if (known?.member) return undefined;
      if (known?.private) return 'channel_not_found';
      // chat:write.public lets chat.postMessage post to public channels the bot is not in.
      if (method === 'chat.postMessage' && this.scopes.has('chat:write.public')) return undefined;
      return 'not_in_channel';
    }
    if (/^G/.test(channel)) return known?.member ? undefined : 'channel_not_found';
    return 'channel_not_found';
  }

  private useTrigger(triggerId: string): string | undefined {
    const issuedAt = triggerIssuedAt(triggerId);
    if (issuedAt === undefined) return 'invalid_trigger_id';
    if (this.exchangedTriggers.has(triggerId)) return 'exchanged_trigger_id';
    if (Date.now() - issuedAt > this.triggerLifetimeMs) return 'expired_trigger_id';
    return undefined;
  }

  private openView(view: any, user?: string): Answer {
    const id = `V${String(++this.seq).padStart(10, '0')}`;
    const hash = newViewHash();
    this.views.set(id, { id, hash, type: view.type, user, externalId: view.external_id });
    return { id, team_id: TEAM_ID, hash, root_view_id: id, app_id: 'A0DOORMAN', bot_id: 'B0BOT', state: { values: {} }, ...view };
  }

  private perform(method: string, args: Record<string, any>): Answer {
    switch (method) {
      case 'auth.test':
        if (this.orgWideInstall) return { ok: true, url: 'https://corp-org.enterprise.slack.com/', team: 'Corp Org', user: 'doorman', team_id: 'E0ORG', user_id: 'U0BOT', bot_id: 'B0BOT', enterprise_id: 'E0ORG', is_enterprise_install: true };
        return { ok: true, url: 'https://test.slack.com/', team: 'Test', user: 'doorman', team_id: TEAM_ID, user_id: 'U0BOT', bot_id: 'B0BOT', is_enterprise_install: false };
      case 'users.info': {
        const user = this.users.get(args.user);
        if (!user) return { ok: false, error: 'user_not_found' };
        if (user.invisible) return { ok: false, error: 'user_not_visible' };
        return { ok: true, user: this.userObject(args.user, user) };
      }
      case 'chat.postMessage': {
        // A channel's name (#invitations, or invitations) posts to that channel, answered with its id.
        const named = /^#?([a-z0-9][a-z0-9._-]*)$/.exec(String(args.channel));
        const target = named && !/^[CGDUW][A-Z0-9]{2,}$/.test(String(args.channel)) ? (this.channelNames.get(named[1]!) ?? String(args.channel)) : String(args.channel);
        const refusal = this.channelRefusal(target, method);
        if (refusal) return { ok: false, error: refusal };
        // A DM addressed to a user id lands in the bot's IM channel with them.
        const channel = /^[UW]/.test(target) ? `D${target.slice(1)}` : target;
        // Every DM goes to the app's Messages tab: with it off, Slack refuses them.
        if (/^D/.test(channel) && !this.manifest.messagesTabEnabled) return { ok: false, error: 'messages_tab_disabled' };
        const ts = `${1_700_000_000 + ++this.seq}.000100`;
        // Text over 40,000 characters is cut, and the post still goes through with a warning.
        const { text, warning } = truncatedText(args.text);
        this.messages.set(`${channel}/${ts}`, { channel, ts, text, blocks: args.blocks });
        return { ok: true, channel, ts, message: { type: 'message', bot_id: 'B0BOT', user: 'U0BOT', ts, text, blocks: args.blocks }, ...warning };
      }
      case 'chat.postEphemeral': {
        const refusal = this.channelRefusal(String(args.channel), method);
        if (refusal) return { ok: false, error: refusal };
        return { ok: true, message_ts: `${1_700_000_000 + ++this.seq}.000200`, ...truncatedText(args.text).warning };
      }
      case 'chat.update': {
        const refusal = this.channelRefusal(String(args.channel), method);
        if (refusal) return { ok: false, error: refusal };
        const before = this.messages.get(`${args.channel}/${args.ts}`);
        if (!before) return { ok: false, error: 'message_not_found' };
        const { text, warning } = truncatedText(args.text);
        // Blocks left out are kept (an empty list removes them): an update of the text alone leaves the buttons.
        const message = { ...before, text: args.text === undefined ? before.text : text, blocks: args.blocks === undefined ? before.blocks : args.blocks };
        this.messages.set(`${args.channel}/${args.ts}`, message);
        return { ok: true, channel: args.channel, ts: args.ts, text, message: { type: 'message', bot_id: 'B0BOT', user: 'U0BOT', ts: args.ts, text: message.text, blocks: message.blocks }, ...warning };
      }
      case 'views.open':
      case 'views.push': {
        // These open modals; App Home is published.
        if (args.view?.type !== 'modal') return { ok: false, error: 'invalid_arguments' };
        // An interactivity pointer is a trigger by another name (workflow steps): issued by Slack, single use, short-lived.
        const trigger = String(args.trigger_id ?? args.interactivity_pointer);
        const refusal = this.useTrigger(trigger);
        if (refusal) return { ok: false, error: refusal };
        this.exchangedTriggers.add(trigger);
        return { ok: true, view: this.openView(args.view) };
      }
      case 'views.update': {
        // Exactly one of the two names the view.
        if ((args.view_id === undefined) === (args.external_id === undefined)) return { ok: false, error: 'invalid_arguments' };
        const known = args.view_id ? this.views.get(args.view_id) : [...this.views.values()].find((v) => v.externalId === args.external_id);
        if (!known) return { ok: false, error: 'not_found' };
        if (args.hash !== undefined && args.hash !== known.hash) return { ok: false, error: 'hash_conflict' };
        const view = this.openView(args.view, known.user);
        // The view keeps its id; it gets a new hash.
        this.views.delete(String(view.id));
        known.hash = String(view.hash);
        return { ok: true, view: { ...view, id: known.id, root_view_id: known.id } };
      }
      case 'views.publish': {
        if (args.view?.type === 'home' && !this.manifest.homeTabEnabled) return { ok: false, error: 'not_enabled' };
        // Only App Home is published; a modal is opened with a trigger.
        if (args.view?.type !== 'home') return { ok: false, error: 'invalid_arguments' };
        return { ok: true, view: this.openView(args.view, args.user_id) };
      }
      case 'conversations.open': {
        const users = String(args.users ?? '').split(',').filter(Boolean);
        if (users.length === 0) return { ok: true, no_op: true, already_open: true, channel: { id: args.channel } };
        if (users.length > 8) return { ok: false, error: 'too_many_users' };
        const id = users.length === 1 ? `D${users[0]!.slice(1)}` : `G${users.map((u) => u.slice(1, 4)).join('')}`;
        this.channels.set(id, { private: true, member: true });
        return { ok: true, channel: { id } };
      }
      case 'files.info': {
        const file = this.files.get(args.file);
        if (!file) return { ok: false, error: 'file_not_found' };
        return { ok: true, file, comments: [], response_metadata: { next_cursor: '' } };
      }
      case 'apps.connections.open':
        if (!this.socket) throw new Error('apps.connections.open: no Socket Mode stand-in attached (SlackApiStandIn.start(token, { socket }) or api.socket = …)');
        return { ok: true, url: this.socket.issueUrl() };
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

/** Slack waits this long for an acknowledgement over HTTP, then shows the person an error. */
export const ACK_TIMEOUT_MS = 3_000;

/** The least total of block text Slack was seen refusing, less a margin (bolt-js#2867: 9,597 accepted, 11,341 refused). */
export const MAX_BLOCKS_TEXT = 11_000;

/** All the text a message's blocks hold: every `text` string of every text object, nested or not. */
export function blockText(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + blockText(item), 0);
  if (!value || typeof value !== 'object') return 0;
  return Object.entries(value as Record<string, unknown>).reduce((sum, [key, item]) => sum + (key === 'text' && typeof item === 'string' ? len(item) : blockText(item)), 0);
}

/** What Slack keeps of a message's `text`; beyond it Slack truncates and still posts (api.slack.com/changelog/2018-04-truncating-really-long-messages). */
export const MAX_MESSAGE_TEXT = 40_000;

/**
 * The `text` Slack keeps, and the warning it answers with when it cut it: over 40,000 characters
 * Slack truncates the text and still posts, it does not refuse (the changelog above).
 */
export function truncatedText(text: unknown): { text: unknown; warning?: Record<string, unknown> } {
  if (typeof text !== 'string' || len(text) <= MAX_MESSAGE_TEXT) return { text };
  return {
    text: [...text].slice(0, MAX_MESSAGE_TEXT).join(''),
    warning: { response_metadata: { messages: ['[WARN] Your message was truncated but still posted. The `text` field accepts up to 40,000 characters.'], warnings: ['message_truncated'] } },
  };
}

export function messageProblems(message: Record<string, any>): string[] {
  const problems: string[] = [];
  if (message.blocks !== undefined) {
    if (!Array.isArray(message.blocks)) return ['blocks is not an array'];
    if (message.blocks.length > 50) problems.push(`${message.blocks.length} blocks in a message (max 50)`);
    problems.push(...blockProblems(message.blocks, 'message'));
  }
  return problems;
}

export function viewProblems(view: any): string[] {
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
    // Slack's modal reference: title, submit and close are plain_text only.
    for (const part of ['title', 'submit', 'close'] as const) if (view[part] && view[part].type !== 'plain_text') problems.push(`${part} of type ${view[part].type} (plain_text only)`);
    if (view.blocks.some((b: any) => b.type === 'input') && !view.submit) problems.push('a modal with inputs needs a submit button');
  }
  if (len(view.private_metadata) > 3000) problems.push('private_metadata longer than 3000');
  if (len(view.callback_id) > 255) problems.push('callback_id longer than 255');
  problems.push(...blockProblems(view.blocks, view.type === 'home' ? 'home' : 'modal'));
  return problems;
}

function textProblems(where: string, text: any, max: number, types: string[] = ['plain_text', 'mrkdwn']): string[] {
  if (!text || typeof text !== 'object') return [`${where}: missing text object`];
  if (!types.includes(text.type)) return [`${where}: text type ${text.type}`];
  if (typeof text.text !== 'string' || text.text.length === 0) return [`${where}: empty text`];
  return len(text.text) > max ? [`${where}: ${len(text.text)} characters (max ${max})`] : [];
}

const SELECTS = ['static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select'];
const MULTI_SELECTS = SELECTS.map((type) => `multi_${type}`);

/**
 * The blocks each element may stand in: the "Blocks" column of Slack's block element reference
 * (api.slack.com/reference/block-kit/block-elements) and @slack/types' ActionsBlockElement,
 * SectionBlockAccessory and InputBlockElement; a type in none of them is not a Slack element.
 */
const ELEMENT_BLOCKS: Record<string, readonly string[]> = {
  button: ['section', 'actions'],
  overflow: ['section', 'actions'],
  workflow_button: ['section', 'actions'],
  ...Object.fromEntries(['checkboxes', 'radio_buttons', 'datepicker', 'timepicker', ...SELECTS, ...MULTI_SELECTS].map((type) => [type, ['section', 'actions', 'input']])),
  datetimepicker: ['actions', 'input'],
  // The actions block's page lists it among its compatible elements, the element table only under input: both are allowed.
  rich_text_input: ['actions', 'input'],
  ...Object.fromEntries(['plain_text_input', 'email_text_input', 'url_text_input', 'number_input', 'file_input'].map((type) => [type, ['input']])),
  image: ['section', 'context'],
};

type Surface = 'message' | 'modal' | 'home';

/**
 * The elements the "Surfaces" column of Slack's block element reference keeps off some surfaces:
 * the email, URL and number inputs and the file input appear in modals only, the datetime picker
 * not in Home tabs, the rich text input not in messages. Any other element may appear on all three.
 */
const ELEMENT_SURFACES: Record<string, readonly Surface[]> = {
  email_text_input: ['modal'],
  url_text_input: ['modal'],
  number_input: ['modal'],
  file_input: ['modal'],
  datetimepicker: ['modal', 'message'],
  rich_text_input: ['modal', 'home'],
};

/** How many options each element with a fixed list holds: checkboxes and radio buttons up to 10, an overflow menu 2–5, a static menu up to 100. */
const OPTION_COUNTS: Record<string, readonly [number, number]> = {
  checkboxes: [0, 10],
  radio_buttons: [0, 10],
  overflow: [2, 5],
  static_select: [0, 100],
  multi_static_select: [0, 100],
};

/** Only checkbox groups and radio buttons may give an option (and its description) mrkdwn (the option object's reference). */
const MRKDWN_OPTIONS = ['checkboxes', 'radio_buttons'];

/** A table's entry for a type, never one inherited from Object (a type named "constructor" is just unknown). */
const entry = <T>(table: Record<string, T>, type: unknown): T | undefined => (typeof type === 'string' && Object.hasOwn(table, type) ? table[type] : undefined);

/** Where the element stands: Slack refuses an element outside the blocks and surfaces its reference names, and an unknown type. */
function placementProblems(where: string, el: any, block: string, surface: Surface): string[] {
  const places = entry(ELEMENT_BLOCKS, el.type);
  if (!places) return [`${where}: unknown element type ${el.type}`];
  const problems = places.includes(block) ? [] : [`${where}: element ${el.type} is not allowed in ${block} blocks`];
  const surfaces = entry(ELEMENT_SURFACES, el.type);
  if (surfaces && !surfaces.includes(surface)) problems.push(`${where}: element ${el.type} is not allowed in a ${surface}`);
  return problems;
}

/** One option object: text up to 75, a value (required) up to 150, a description up to 75, a url (overflow menus only) up to 3000. */
function optionProblems(where: string, option: any, kind: string): string[] {
  if (!option || typeof option !== 'object') return [`${where}: option is not an object`];
  const types = MRKDWN_OPTIONS.includes(kind) ? ['plain_text', 'mrkdwn'] : ['plain_text'];
  const problems = textProblems(`${where} option`, option.text, 75, types);
  if (typeof option.value !== 'string') problems.push(`${where}: option without a value`);
  else if (len(option.value) > 150) problems.push(`${where}: option value longer than 150`);
  if (option.description !== undefined) problems.push(...textProblems(`${where} option description`, option.description, 75, types));
  if (option.url !== undefined) {
    if (kind !== 'overflow') problems.push(`${where}: option url outside an overflow menu`);
    else if (len(option.url) > 3000) problems.push(`${where}: option url longer than 3000`);
  }
  return problems;
}

/** Slack matches an initial option "exactly" against the element's own options: same value, same text. */
const sameOption = (a: any, b: any) => a?.value === b?.value && a?.text?.type === b?.text?.type && a?.text?.text === b?.text?.text;

/**
 * The options of an element with a fixed list: how many, each option, option groups (static menus
 * only, instead of options: up to 100 groups of up to 100, each with a plain_text label up to 75),
 * and initial options that must be among them.
 */
function optionListProblems(where: string, el: any): string[] {
  const counts = entry(OPTION_COUNTS, el.type);
  if (!counts) return [];
  const problems: string[] = [];
  const grouped = el.option_groups !== undefined;
  const menu = el.type === 'static_select' || el.type === 'multi_static_select';
  if (menu && grouped === (el.options !== undefined)) return [`${where}: give either options or option_groups`];
  if (grouped && !menu) return [`${where}: option_groups in a ${el.type}`];
  let all: any[];
  if (grouped) {
    if (!Array.isArray(el.option_groups)) return [`${where}: option_groups is not an array`];
    if (el.option_groups.length > 100) problems.push(`${where}: ${el.option_groups.length} option groups (max 100)`);
    for (const group of el.option_groups) {
      problems.push(...textProblems(`${where} option group label`, group?.label, 75, ['plain_text']));
      if (!Array.isArray(group?.options)) problems.push(`${where}: option group without options`);
      else if (group.options.length > 100) problems.push(`${where}: ${group.options.length} options in a group (max 100)`);
    }
    all = el.option_groups.flatMap((group: any) => (Array.isArray(group?.options) ? group.options : []));
  } else {
    if (!Array.isArray(el.options)) return [`${where}: ${el.type} without options`];
    const [least, most] = counts;
    if (el.options.length < least || el.options.length > most) problems.push(`${where}: ${el.options.length} options in a ${el.type} (${least ? `${least}–` : 'max '}${most})`);
    all = el.options;
  }
  const initial = [...(el.initial_option ? [el.initial_option] : []), ...(Array.isArray(el.initial_options) ? el.initial_options : [])];
  for (const option of [...all, ...initial]) problems.push(...optionProblems(where, option, el.type));
  for (const option of initial) if (!all.some((o) => sameOption(o, option))) problems.push(`${where}: initial option "${option?.value}" is not one of the options`);
  return problems;
}

/** A plain-text input's bounds: min_length an integer 0–3000, max_length an integer 1–3000 (the element's reference). */
function textInputProblems(where: string, el: any): string[] {
  const problems: string[] = [];
  const outside = (n: unknown, least: number) => !Number.isInteger(n) || (n as number) < least || (n as number) > 3000;
  if (el.min_length !== undefined && outside(el.min_length, 0)) problems.push(`${where}: min_length ${el.min_length} (0–3000)`);
  if (el.max_length !== undefined && outside(el.max_length, 1)) problems.push(`${where}: max_length ${el.max_length} (1–3000)`);
  return problems;
}

/** An image element needs alt_text (up to 2000) and an image_url (up to 3000) or a slack_file. */
function imageProblems(where: string, el: any): string[] {
  const problems: string[] = [];
  if (typeof el.alt_text !== 'string' || el.alt_text.length === 0) problems.push(`${where}: image without alt_text`);
  else if (len(el.alt_text) > 2000) problems.push(`${where}: image alt_text longer than 2000`);
  if (el.image_url === undefined && el.slack_file === undefined) problems.push(`${where}: image without image_url or slack_file`);
  if (len(el.image_url) > 3000) problems.push(`${where}: image_url longer than 3000`);
  return problems;
}

/** The checks one element gets wherever it stands; `block` is the type of the block holding it. */
function elementProblems(where: string, el: any, block: string, surface: Surface): string[] {
  if (!el || typeof el !== 'object') return [`${where}: element is not an object`];
  const problems = placementProblems(where, el, block, surface);
  if (el.type === 'button') {
    problems.push(...textProblems(`${where} button`, el.text, 75, ['plain_text']));
    if (len(el.value) > 2000) problems.push(`${where}: button value longer than 2000`);
    if (len(el.url) > 3000) problems.push(`${where}: button url longer than 3000`);
    if (el.style !== undefined && !['primary', 'danger'].includes(el.style)) problems.push(`${where}: button style ${el.style}`);
  }
  if (el.type === 'image') problems.push(...imageProblems(where, el));
  if (el.confirm) {
    problems.push(...textProblems(`${where} confirm title`, el.confirm.title, 100, ['plain_text']));
    // Slack's reference: a plain_text object (mrkdwn is no longer documented there).
    problems.push(...textProblems(`${where} confirm text`, el.confirm.text, 300, ['plain_text']));
    problems.push(...textProblems(`${where} confirm button`, el.confirm.confirm, 30, ['plain_text']));
    problems.push(...textProblems(`${where} confirm deny`, el.confirm.deny, 30, ['plain_text']));
  }
  problems.push(...optionListProblems(where, el));
  if (el.placeholder) problems.push(...textProblems(`${where} placeholder`, el.placeholder, 150, ['plain_text']));
  if (el.type === 'plain_text_input') problems.push(...textInputProblems(where, el));
  // "Minimum of 1, maximum of 10" (file input element).
  if (el.type === 'file_input' && el.max_files !== undefined && !(Number.isInteger(el.max_files) && el.max_files >= 1 && el.max_files <= 10)) problems.push(`${where}: max_files ${el.max_files} (1–10)`);
  // "Specifies the maximum number of items that can be selected. Minimum number is 1." (multi-select menus).
  if (MULTI_SELECTS.includes(el.type) && el.max_selected_items !== undefined && !(Number.isInteger(el.max_selected_items) && el.max_selected_items >= 1)) problems.push(`${where}: max_selected_items ${el.max_selected_items} (at least 1)`);
  return problems;
}

function blockProblems(blocks: any[], surface: Surface): string[] {
  const problems: string[] = [];
  const blockIds = new Set<string>();
  // An action_id "should be unique among all other action_ids in the containing block": Slack refuses a repeat in one block, not across blocks.
  const elements = (where: string, block: any, list: any[]) => {
    const actionIds = new Set<string>();
    for (const el of list) {
      if (typeof el?.action_id === 'string') {
        if (len(el.action_id) > 255) problems.push(`${where}: action_id longer than 255`);
        if (actionIds.has(el.action_id)) problems.push(`${where}: action_id "${el.action_id}" is not unique in its block`);
        actionIds.add(el.action_id);
      }
      problems.push(...elementProblems(where, el, block.type, surface));
    }
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
        if (block.accessory) elements(where, block, [block.accessory]);
        break;
      case 'actions':
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25) problems.push(`${where}: 1–25 elements`);
        elements(where, block, Array.isArray(block.elements) ? block.elements : []);
        break;
      case 'context':
        // "An array of image elements and text objects. Maximum number of items is 10."
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10) problems.push(`${where}: 1–10 elements`);
        for (const el of Array.isArray(block.elements) ? block.elements : []) {
          if (el?.type === 'image') problems.push(...elementProblems(where, el, 'context', surface));
          else if (entry(ELEMENT_BLOCKS, el?.type)) problems.push(`${where}: element ${el.type} is not allowed in context blocks`);
          else problems.push(...textProblems(where, el, 3000));
        }
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
        else elements(where, block, [block.element]);
        break;
      default:
        // Slack takes more block types (image, rich_text, video…); the stand-in refuses those it has
        // no checks for, so a new one comes with its limits rather than passing unchecked.
        problems.push(`${where}: block type not used by Doorman (add its checks to the stand-in first)`);
    }
  });
  return problems;
}

/** The block ids of a view's input blocks (those a submission's errors may name). */
function inputBlockIds(view: any): Set<string> {
  const blocks: any[] = Array.isArray(view?.blocks) ? view.blocks : [];
  return new Set(blocks.filter((block) => block?.type === 'input' && typeof block.block_id === 'string').map((block) => block.block_id as string));
}
