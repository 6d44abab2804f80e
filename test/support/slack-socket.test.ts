import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, LogLevel } from '@slack/bolt';
import { WebClient, type WebAPIPlatformError } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SlackApiStandIn } from './slack-api.js';
import { issueTrigger, slackEscapeTyped, slackMailto, slashCommandFields, viewSubmissionPayload } from './slack-payloads.js';
import { SlackSocketStandIn } from './slack-socket.js';

/**
 * Self-tests of the Slack stand-ins: a bare Bolt app in Socket Mode against the Socket Mode stand-in
 * (reached through apps.connections.open on the Web API stand-in), and the Web API stand-in's
 * refusals driven with @slack/web-api's own client.
 */

const BOT = 'xoxb-test';
const APP_TOKEN = 'xapp-1-A0DOORMAN-test';
const MODAL = { type: 'modal', title: { type: 'plain_text', text: 'Invite' }, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Hello' } }] };

/** A Web API client that does not retry, pointed at the stand-in. */
function client(api: SlackApiStandIn, token = BOT): WebClient {
  return new WebClient(token, { slackApiUrl: `${api.url}/`, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
}

/** The platform error a call ends in (`{ error, needed, provided, … }`), or undefined when it succeeded. */
async function refusal(call: Promise<unknown>): Promise<Record<string, unknown> | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return (error as WebAPIPlatformError).data as unknown as Record<string, unknown>;
  }
}

describe('Socket Mode stand-in with a bare Bolt app', () => {
  let socket: SlackSocketStandIn;
  let api: SlackApiStandIn;
  let app: App;
  const seen: Array<{ text: string; triggerId: string }> = [];

  beforeAll(async () => {
    socket = await SlackSocketStandIn.start();
    api = await SlackApiStandIn.start(BOT, { appToken: APP_TOKEN, socket, scopes: ['commands', 'chat:write'] });
    app = new App({
      socketMode: true,
      appToken: APP_TOKEN,
      token: BOT,
      // Reaches the SocketModeClient too: Bolt hands installerOptions.clientOptions (= clientOptions) to
      // it, and its WebClient calls apps.connections.open at slackApiUrl with the app token.
      clientOptions: { slackApiUrl: `${api.url}/`, retryConfig: { retries: 0 } },
      logLevel: LogLevel.ERROR,
    });
    app.command('/doorman', async ({ ack, command, client: web }) => {
      seen.push({ text: command.text, triggerId: command.trigger_id });
      if (command.text === 'modal') {
        await ack();
        await web.views.open({ trigger_id: command.trigger_id, view: MODAL as never });
        return;
      }
      await ack({ text: `Hello from Doorman: ${command.text}` });
    });
    app.event('app_home_opened', async () => {});
    // Answers with a modal whose title Slack refuses (over 24 characters).
    app.view('too_long_title', async ({ ack }) => {
      await ack({ response_action: 'update', view: { ...MODAL, title: { type: 'plain_text', text: 'A title far longer than Slack takes' } } as never });
    });
    app.view('invite_modal', async ({ ack }) => {
      await ack({ response_action: 'errors', errors: { emails: 'Enter at least one address' } });
    });
    await app.start();
    await socket.connected();
  });

  afterAll(async () => {
    await app?.stop();
    await socket?.stop();
    await api?.stop();
  });

  it('checks what an ack carries as Slack does over HTTP: a view answered with a title too long is refused', async () => {
    const before = api.rejected().length;
    const ack = await socket.interactive(viewSubmissionPayload({ user: 'U0ADMIN', triggerId: issueTrigger(), values: {}, extra: { callback_id: 'too_long_title' } }) as never);
    expect(ack.payload).toMatchObject({ response_action: 'update' });
    expect(api.rejected().slice(before).map((r) => ('error' in r ? r.error : undefined))).toEqual([expect.stringMatching(/^invalid_view: .*title/)]);
  });

  it('connects through apps.connections.open with the app token and is sent hello', async () => {
    const opens = api.calls.filter((c) => c.method === 'apps.connections.open');
    expect(opens.map((c) => c.ok)).toEqual([true]);
    expect(socket.connections).toBe(1);
  });

  it('delivers a slash_commands envelope and returns the ack the app sent, with Slack-escaped text', async () => {
    const fields = slashCommandFields({ command: '/doorman', text: 'Jane <jane@corp.test> & co', user: 'U0ADMIN', responseUrl: api.responseUrl('sm1'), triggerId: issueTrigger() });
    expect(fields.text).toBe('Jane &lt;jane@corp.test&gt; &amp; co');
    const ack = await socket.slashCommand(fields);
    expect(ack.payload).toEqual({ text: 'Hello from Doorman: Jane &lt;jane@corp.test&gt; &amp; co' });
    expect(ack.ms).toBeLessThan(3_000);
    expect(socket.sent.at(-1)).toMatchObject({ type: 'slash_commands', accepts_response_payload: true });
  });

  it('keeps Slack\'s own forms when the test writes the wire text (raw)', async () => {
    const text = `${slackEscapeTyped('a & b ')}${slackMailto('jane@corp.test')}`;
    await socket.slashCommand(slashCommandFields({ command: '/doorman', text, raw: true, user: 'U0ADMIN', responseUrl: api.responseUrl('sm2'), triggerId: issueTrigger() }));
    expect(seen.at(-1)!.text).toBe('a &amp; b <mailto:jane@corp.test|jane@corp.test>');
  });

  it('lets the app exchange the command\'s trigger once for views.open', async () => {
    const triggerId = issueTrigger();
    const ack = await socket.slashCommand(slashCommandFields({ command: '/doorman', text: 'modal', user: 'U0ADMIN', responseUrl: api.responseUrl('sm3'), triggerId }));
    expect(ack.payload).toEqual({});
    const open = await api.waitFor(() => api.calls.find((c) => c.method === 'views.open' && c.args.trigger_id === triggerId));
    expect(open.ok).toBe(true);
    // The same trigger again is refused.
    expect(await refusal(client(api).views.open({ trigger_id: triggerId, view: MODAL as never }))).toMatchObject({ error: 'exchanged_trigger_id' });
  });

  it('acks an interaction with its response payload and an event without one', async () => {
    const submitted = await socket.interactive(viewSubmissionPayload({ user: 'U0ADMIN', triggerId: issueTrigger(), values: {} }));
    expect(submitted.payload).toEqual({ response_action: 'errors', errors: { emails: 'Enter at least one address' } });
    const event = await socket.event({ type: 'app_home_opened', user: 'U0ADMIN', channel: 'D0ADMIN', tab: 'home', event_ts: '1.2' });
    expect(event.payload).toEqual({});
    expect(socket.sent.at(-1)).toMatchObject({ type: 'events_api', accepts_response_payload: false, retry_attempt: 0 });
  });

  it('rejects an envelope nobody acknowledges within the ack timeout', async () => {
    await expect(socket.send('interactive', { type: 'not_a_slack_type' }, { ackTimeoutMs: 300 })).rejects.toThrow(/did not acknowledge/);
  });

  it('refuses a connection whose ticket apps.connections.open did not issue', async () => {
    const url = socket.issueUrl().replace(/ticket=[^&]+/, 'ticket=made-up');
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => {});
    });
    expect(status).toBe(401);
  });

  it('reconnects through apps.connections.open after Slack\'s disconnect message', async () => {
    socket.disconnect('refresh_requested');
    await api.waitFor(() => api.calls.filter((c) => c.method === 'apps.connections.open').length >= 2, 15_000, 'a second apps.connections.open');
    await socket.connected();
    const ack = await socket.slashCommand(slashCommandFields({ command: '/doorman', text: 'again', user: 'U0ADMIN', responseUrl: api.responseUrl('sm4'), triggerId: issueTrigger() }));
    expect(ack.payload).toEqual({ text: 'Hello from Doorman: again' });
  });
});

describe('Web API stand-in refusals', () => {
  let api: SlackApiStandIn;
  const dirs: string[] = [];

  beforeAll(async () => {
    api = await SlackApiStandIn.start(BOT, { scopes: ['commands', 'chat:write', 'users:read', 'im:write'] });
    api.users.set('U0ADMIN', { email: 'boss@corp.test', name: 'Bootstrap Boss' });
    api.users.set('U0GUEST', { email: 'guest@corp.test', name: 'Guest', is_restricted: true, is_ultra_restricted: true });
    api.users.set('U0EXT', { email: 'ext@other.test', name: 'External', team_id: 'T0OTHER', is_stranger: true, is_email_confirmed: false });
  });

  afterAll(async () => {
    await api?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  afterEach(() => {
    api.triggerLifetimeMs = 3_000;
  });

  it('reads the bot scopes from a manifest and answers missing_scope with needed and provided', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'manifest-'));
    dirs.push(dir);
    const file = path.join(dir, 'manifest.yml');
    writeFileSync(file, 'display_information:\n  name: T\noauth_config:\n  scopes:\n    bot:\n      - commands\n      - chat:write\n');
    const strict = await SlackApiStandIn.start(BOT, { manifestPath: file });
    try {
      expect(await refusal(client(strict).users.info({ user: 'U0ADMIN' }))).toMatchObject({ ok: false, error: 'missing_scope', needed: 'users:read', provided: 'commands,chat:write' });
      expect(await refusal(client(strict).conversations.open({ users: 'U0ADMIN' }))).toMatchObject({ error: 'missing_scope', needed: 'im:write' });
      // views.* need no scope; a home view needs the Home tab, which this manifest lacks.
      expect(await refusal(client(strict).views.publish({ user_id: 'U0ADMIN', view: { type: 'home', blocks: [] } }))).toMatchObject({ error: 'not_enabled' });
    } finally {
      await strict.stop();
    }
  });

  it('gives the identity fields, and the email only with users:read.email', async () => {
    const web = client(api);
    const guest = (await web.users.info({ user: 'U0GUEST' })).user!;
    expect(guest).toMatchObject({ team_id: 'T0TEST', is_restricted: true, is_ultra_restricted: true, is_email_confirmed: true, deleted: false, is_bot: false });
    expect(guest.profile?.email).toBeUndefined();
    expect(guest).not.toHaveProperty('is_stranger');
    api.grant('users:read.email');
    const ext = (await web.users.info({ user: 'U0EXT' })).user!;
    expect(ext).toMatchObject({ team_id: 'T0OTHER', is_stranger: true, is_email_confirmed: false, profile: { email: 'ext@other.test' } });
    api.revoke('users:read.email');
  });

  it('refuses trigger ids it never issued, expired ones and used ones', async () => {
    const web = client(api);
    expect(await refusal(web.views.open({ trigger_id: '12345.98765.abcd2358fdea', view: MODAL as never }))).toMatchObject({ error: 'invalid_trigger_id' });
    // An interactivity pointer Slack never issued is refused the same way (it is no way around a trigger).
    expect(await refusal(web.views.open({ interactivity_pointer: '12345.98765.made-up', view: MODAL as never } as never))).toMatchObject({ error: 'invalid_trigger_id' });
    api.triggerLifetimeMs = 100;
    const old = api.issueTrigger();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await refusal(web.views.open({ trigger_id: old, view: MODAL as never }))).toMatchObject({ error: 'expired_trigger_id' });
    api.triggerLifetimeMs = 3_000;
    const fresh = api.issueTrigger();
    const opened = await web.views.open({ trigger_id: fresh, view: MODAL as never });
    expect(await refusal(web.views.open({ trigger_id: fresh, view: MODAL as never }))).toMatchObject({ error: 'exchanged_trigger_id' });
    // views.update by id, with the hash Slack gave; a stale hash conflicts.
    const updated = await web.views.update({ view_id: opened.view!.id!, hash: opened.view!.hash!, view: MODAL as never });
    expect(updated.view!.id).toBe(opened.view!.id);
    expect(await refusal(web.views.update({ view_id: opened.view!.id!, hash: opened.view!.hash!, view: MODAL as never }))).toMatchObject({ error: 'hash_conflict' });
    expect(await refusal(web.views.update({ view_id: 'V0NOPE', view: MODAL as never }))).toMatchObject({ error: 'not_found' });
  });

  it('posts to users and DMs, but not to channels the bot is not in', async () => {
    const web = client(api);
    expect((await web.chat.postMessage({ channel: 'U0ADMIN', text: 'hi' })).channel).toBe('D0ADMIN');
    expect(await refusal(web.chat.postMessage({ channel: 'C0AUDIT', text: 'hi' }))).toMatchObject({ error: 'not_in_channel' });
    expect(await refusal(web.chat.postMessage({ channel: 'G0SECRET', text: 'hi' }))).toMatchObject({ error: 'channel_not_found' });
    api.grant('chat:write.public');
    expect((await web.chat.postMessage({ channel: 'C0AUDIT', text: 'hi' })).ok).toBe(true);
    api.revoke('chat:write.public');
    api.joinChannel('G0SECRET');
    expect((await web.chat.postMessage({ channel: 'G0SECRET', text: 'hi' })).ok).toBe(true);
    expect(await refusal(web.chat.postEphemeral({ channel: 'C0GENERAL', user: 'U0ADMIN', text: 'hi' }))).toMatchObject({ error: 'not_in_channel' });
    expect((await web.conversations.open({ users: 'U0ADMIN' })).channel!.id).toBe('D0ADMIN');
  });

  it('answers channel_not_found for a user or DM that does not exist, and for an update addressed to a user id', async () => {
    const web = client(api);
    expect(await refusal(web.chat.postMessage({ channel: 'U0NOSUCH', text: 'hi' }))).toMatchObject({ error: 'channel_not_found' });
    expect(await refusal(web.chat.postMessage({ channel: 'D0NOSUCH', text: 'hi' }))).toMatchObject({ error: 'channel_not_found' });
    const posted = await web.chat.postMessage({ channel: 'U0ADMIN', text: 'hi' });
    expect(await refusal(web.chat.update({ channel: 'U0ADMIN', ts: posted.ts!, text: 'edited' }))).toMatchObject({ error: 'channel_not_found' });
    expect((await web.chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'edited' })).ok).toBe(true);
  });

  it('refuses a views.update naming its view twice or not at all, a modal published as Home, and a chat.update with nothing to show', async () => {
    api.registerView('V0NAMED', { externalId: 'named' });
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'T' }, blocks: [] };
    expect(await refusal(client(api).views.update({ view_id: 'V0NAMED', external_id: 'named', view }))).toMatchObject({ error: 'invalid_arguments' });
    expect(await refusal(client(api).apiCall('views.update', { view }))).toMatchObject({ error: 'invalid_arguments' });
    expect(await refusal(client(api).views.update({ external_id: 'named', view }))).toBeUndefined();
    expect(await refusal(client(api).views.publish({ user_id: 'U0ADMIN', view: view as never }))).toMatchObject({ error: 'invalid_arguments' });
    expect(await refusal(client(api).apiCall('chat.update', { channel: 'C0GENERAL', ts: '1.1' }))).toMatchObject({ error: 'no_text' });
  });

  it('closes a modal whose submission was acked without a view: it can no longer be updated; errors keep it open', async () => {
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'T' }, blocks: [] };
    api.registerView('V0KEPT');
    api.viewAck({ response_action: 'errors', errors: { emails: 'Add an address.' } }, 'V0KEPT');
    expect(await refusal(client(api).views.update({ view_id: 'V0KEPT', view }))).toBeUndefined();
    api.registerView('V0CLOSED');
    api.viewAck(undefined, 'V0CLOSED');
    expect(await refusal(client(api).views.update({ view_id: 'V0CLOSED', view }))).toMatchObject({ error: 'not_found' });
  });

  it('refuses the app token on Web API methods and the bot token on apps.connections.open', async () => {
    expect(await refusal(client(api, api.appToken).auth.test())).toMatchObject({ error: 'not_allowed_token_type' });
    expect(await refusal(client(api).apps.connections.open())).toMatchObject({ error: 'not_allowed_token_type' });
    expect(await refusal(client(api).apiCall('chat.nope'))).toMatchObject({ error: 'unknown_method' });
    expect(api.rejected('not_allowed_token_type', 'unknown_method', 'invalid_trigger_id', 'expired_trigger_id', 'exchanged_trigger_id', 'hash_conflict', 'not_found', 'not_in_channel', 'channel_not_found', 'invalid_arguments', 'no_text')).toEqual([]);
  });

  it('takes five posts per response_url, refuses the sixth and any after 30 minutes', async () => {
    const url = api.responseUrl('five');
    const post = (text: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
    api.ackAnswer('five', { text: 'in the ack: does not count' });
    for (let i = 1; i <= 5; i++) expect((await post(`#${i}`)).status).toBe(200);
    const sixth = await post('#6');
    expect([sixth.status, await sixth.text()]).toEqual([404, 'used_url']);
    api.responseUrlLifetimeMs = 50;
    const late = api.responseUrl('late');
    await new Promise((resolve) => setTimeout(resolve, 80));
    const expired = await fetch(late, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"late"}' });
    expect([expired.status, await expired.text()]).toEqual([404, 'expired_url']);
    api.responseUrlLifetimeMs = 30 * 60_000;
    expect(api.responsesTo('five').filter((r) => !r.error)).toHaveLength(6);
  });

  it('refuses a response_url post with nothing to show, and a replacement that would change the message\'s visibility', async () => {
    const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => [r.status, await r.text()]);
    const ephemeral = api.responseUrl('vis-ephemeral');
    const dm = api.responseUrl('vis-dm', 'message');
    expect(await post(ephemeral, { replace_original: true })).toEqual([400, 'no_text']);
    expect((await post(dm, { replace_original: true, response_type: 'ephemeral', text: 'x' }))[1]).toMatch(/^cannot_change_visibility/);
    expect((await post(ephemeral, { replace_original: 'true', response_type: 'in_channel', text: 'x' }))[1]).toMatch(/^cannot_change_visibility/);
    expect(await post(dm, { replace_original: true, text: 'redrawn' })).toEqual([200, 'ok']);
    expect(await post(ephemeral, { replace_original: true, response_type: 'ephemeral', text: 'redrawn' })).toEqual([200, 'ok']);
    expect(await post(ephemeral, { delete_original: true })).toEqual([200, 'ok']);
  });

  it('serves an uploaded file only to the bot token with files:read, else Slack\'s sign-in page', async () => {
    const file = api.addFile({ name: 'people.csv', content: 'email\njane@corp.test\n' });
    expect(await refusal(client(api).files.info({ file: file.id }))).toMatchObject({ error: 'missing_scope', needed: 'files:read' });
    const anonymous = await fetch(file.url_private_download);
    expect([anonymous.status, anonymous.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    const withoutScope = await fetch(file.url_private, { headers: { authorization: `Bearer ${BOT}` } });
    expect(await withoutScope.text()).toContain('Sign in');
    api.grant('files:read');
    expect((await client(api).files.info({ file: file.id })).file).toMatchObject({ id: file.id, name: 'people.csv', filetype: 'csv', mimetype: 'text/csv', size: 21 });
    const served = await fetch(file.url_private_download, { headers: { authorization: `Bearer ${BOT}` } });
    expect([served.status, served.headers.get('content-type'), await served.text()]).toEqual([200, 'text/csv', 'email\njane@corp.test\n']);
    expect(api.downloads.map((d) => d.served)).toEqual([false, false, true]);
    api.revoke('files:read');
  });

  it('refuses a posted message with more than ~11,000 characters of block text (msg_blocks_too_long), as Slack does', async () => {
    const section = (n: number) => ({ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(n) } });
    const posted = await client(api).chat.postMessage({ channel: 'U0ADMIN', text: 'fits', blocks: [section(2_900), section(2_900), section(2_900)] });
    expect(posted.ok).toBe(true);
    expect(await refusal(client(api).chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'too much', blocks: [section(2_900), section(2_900), section(2_900), section(2_900)] }))).toMatchObject({ error: 'msg_blocks_too_long' });
  });

  it('refuses for good when told to, for one message only; fails downloads when told to', async () => {
    const first = await client(api).chat.postMessage({ channel: 'U0ADMIN', text: 'one' });
    const second = await client(api).chat.postMessage({ channel: 'U0ADMIN', text: 'two' });
    api.refuse('chat.update', 'msg_too_long', { ts: second.ts! });
    expect((await client(api).chat.update({ channel: first.channel!, ts: first.ts!, text: 'one, edited' })).ok).toBe(true);
    expect(await refusal(client(api).chat.update({ channel: second.channel!, ts: second.ts!, text: 'two, edited' }))).toMatchObject({ error: 'msg_too_long' });
    expect(api.failedCallsTo('chat.update').filter((c) => c.args.ts === second.ts)).toHaveLength(1);
    const file = api.addFile({ name: 'list.csv', content: 'email\na@corp.test\n' });
    api.grant('files:read');
    api.failDownloads(503);
    const fetchIt = () => fetch(file.url_private_download, { headers: { authorization: `Bearer ${BOT}` } });
    expect((await fetchIt()).status).toBe(503);
    expect((await fetchIt()).status).toBe(200);
    api.revoke('files:read');
  });

  it("keeps a view submission's answer it would refuse: a view past Slack's limits, or errors naming no field", () => {
    const refusedAcks = () => api.failedCallsTo('view_submission ack').map((c) => c.error);
    api.viewAck({ response_action: 'update', view: MODAL });
    api.viewAck({ response_action: 'errors', errors: { emails: 'Add an address.' } });
    expect(refusedAcks()).toEqual([]);
    api.viewAck({ response_action: 'update', view: { ...MODAL, title: { type: 'plain_text', text: 'A title far longer than twenty-four' } } });
    api.viewAck({ response_action: 'errors', errors: {} });
    expect(refusedAcks()).toEqual([expect.stringMatching(/invalid_view: modal title/), expect.stringMatching(/invalid_view: errors without a field/)]);
  });

  it('keeps errors that name a block of the submitted view other than an input (Slack shows them nowhere)', () => {
    const refusedAcks = () => api.failedCallsTo('view_submission ack').map((c) => c.error);
    const before = refusedAcks().length;
    const form = { ...MODAL, blocks: [{ type: 'section', block_id: 'intro', text: { type: 'mrkdwn', text: 'Who?' } }, { type: 'input', block_id: 'emails', label: { type: 'plain_text', text: 'Emails' }, element: { type: 'plain_text_input', action_id: 'emails' } }] };
    api.viewAck({ response_action: 'errors', errors: { emails: 'Add an address.' } }, 'V0FORM', form);
    api.viewAck({ response_action: 'errors', errors: { intro: 'Add an address.' } }, 'V0FORM', form);
    expect(refusedAcks().slice(before)).toEqual([expect.stringMatching(/invalid_view: errors naming no input block of the view: intro/)]);
  });

  it('answers a method as late as it is told to', async () => {
    api.delay('users.info', 300);
    const started = Date.now();
    await client(api).users.info({ user: 'U0ADMIN' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    api.delay('users.info', 0);
  });
});
