import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveToken, tokenHash } from '../../src/invites/tokens.js';
import { DEFAULT_RATE_LIMITS } from '../../src/web/server.js';
import { DIALECTS, TEST_SECRET } from '../support/db.js';
import { request, startTestApp, type TestApp } from '../support/http.js';
import { ADMIN, BOT_TOKEN, MEMBER_ADMIN, PLAIN, SIGNING_SECRET, SlackWorld } from '../support/slack-world.js';
import { report, sleep, streamPastAnswer, streamUntilAnswered, until } from './support.js';

/**
 * Secrets and abuse: no token, password, API key or signing secret in logs (pino at trace), in
 * error answers or in audit rows; token guessing is rate-limited and tokens are looked up by hash;
 * SQL injection in search, sort and filter is harmless; oversized bodies get 413 early.
 */

describe.each(DIALECTS)('secrets never leak (logs at trace, answers, audit rows) (%s)', (dialect) => {
  let w: SlackWorld;
  beforeAll(async () => {
    w = await SlackWorld.start(dialect, { logLevel: 'trace', env: { LOG_LEVEL: 'trace' } });
  });
  afterAll(async () => w?.stop());

  it('a day of work through every door leaves no secret behind', async () => {
    const { members } = w.services;
    const db = w.db.db;
    const password = 'Sup3r-Secret-Passw0rd!';
    const { apiToken } = await members.create({ email: 'sec-ops@corp.test', role: 'admin', password, withApiToken: true }, { type: 'system' });
    const base = w.app.url;
    const answers: string[] = [];
    const keep = async (p: Promise<{ text: string; headers: Headers }>) => {
      const a = await p;
      // Refusals and errors must carry no secret (the admin listing's `token` and the accept
      // form's hidden field hand a token to whom it belongs, by design).
      if ((a as unknown as { status: number }).status >= 400) answers.push(a.text);
      return a;
    };
    const tokenAnswer = await keep(request(base, '/admin/auth/token', { body: { email: 'sec-ops@corp.test', password } }));
    const bearer = JSON.parse(tokenAnswer.text).access_token as string;
    const session = await keep(request(base, '/admin/auth', { body: { email: 'sec-ops@corp.test', password } }));
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
    await keep(request(base, '/admin/auth', { body: { email: 'sec-ops@corp.test', password: password + 'x' } }));
    await keep(request(base, '/admin/invites', { apiToken, body: { user: 'leak1@corp.test', role: 'member' } }));
    await keep(request(base, '/admin/invites', { bearer, body: { user: 'leak2@corp.test', role: 'member' } }));
    await keep(request(base, '/admin/invites?status=all', { cookie }));
    await keep(request(base, '/admin/invites', { apiToken: apiToken + 'x', body: { user: 'x@corp.test', role: 'member' } }));
    await keep(request(base, '/admin/invites?limit=1', { apiToken: w.opsToken }));
    // Through Slack: the command (answered in its ack), the modal, the lists, a refusal.
    await w.slash('invite leak3@corp.test', ADMIN);
    await w.sendInvite({ emails: 'leak4@corp.test' });
    await w.slash('invites all leak', MEMBER_ADMIN);
    await w.slash('members', ADMIN);
    await w.slash('invite refused@corp.test', PLAIN);
    await until(() => w.smtp.received.length >= 4, 15_000, 'the emails');
    const tokens = await Promise.all(['leak1', 'leak2', 'leak3', 'leak4'].map(async (n) => (await db('invitations').where({ email: `${n}@corp.test` }).first()).token_nonce as string)).then((nonces) => nonces.map((nonce) => deriveToken(TEST_SECRET, nonce)));
    const leak2 = await db('invitations').where({ email: 'leak2@corp.test' }).first();
    await w.click({ action_id: 'invite_copy_link_1', value: `t.${leak2.id}.pending.created.desc.0` });
    // Accept one with a password on the page and one through the API, and fail one.
    const acceptPassword = 'Acc3pt-Passw0rd-Secret';
    await keep(request(base, '/invite', { method: 'POST', body: new URLSearchParams({ token: tokens[0]!, first_name: 'L', last_name: 'One', password: acceptPassword, confirm_password: acceptPassword }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    await keep(request(base, '/admin/invites/accept', { body: { token: tokens[1]!, user: { first_name: 'L', last_name: 'Two', password: acceptPassword } } }));
    await keep(request(base, '/admin/invites/accept', { body: { token: tokens[2]!, user: { first_name: 'Ann', last_name: 'Other', password: 'short' } } }));
    await keep(request(base, `/invite?token=${tokens[3]}`));
    await sleep(500);

    const secrets: Record<string, string> = { password, acceptPassword, apiToken: apiToken!, opsToken: w.opsToken, bearer, cookie: cookie.split('=')[1]!, signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, appSecret: TEST_SECRET };
    tokens.forEach((t, i) => (secrets[`inviteToken${i}`] = t));
    const logs = w.log.lines.join('\n');
    const audit = JSON.stringify(await db('audit_log'));
    const errorAnswers = answers.join('\n');
    expect(w.log.lines.length).toBeGreaterThan(20);
    const found: string[] = [];
    for (const [name, value] of Object.entries(secrets)) {
      if (logs.includes(value)) found.push(`${name} in logs`);
      if (audit.includes(value)) found.push(`${name} in audit rows`);
      // The issued bearer is the one answer allowed to carry itself.
      if (name !== 'bearer' && errorAnswers.includes(value)) found.push(`${name} in an HTTP answer`);
    }
    expect(found).toEqual([]);
    report(`secrets-${dialect}`, { logLines: w.log.lines.length, logLevel: 'trace', secretsChecked: Object.keys(secrets).length, auditRows: (await db('audit_log')).length, leaks: found.length });
  }, 60_000);
});

describe('abuse', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { rateLimits: DEFAULT_RATE_LIMITS });
  });
  afterAll(async () => t?.close());

  it('guessing is rate-limited — invitation links (accept page, API accept), API tokens and passwords — and a valid credential still gets in', async () => {
    const limits = DEFAULT_RATE_LIMITS;
    const guess = () => 'A'.repeat(42) + String.fromCharCode(65 + Math.floor(Math.random() * 26));
    // One count for both routes that take a link: half the budget on each, then both refuse.
    const onPage = Math.floor(limits.tokenFailures.limit / 2);
    const page: number[] = [];
    for (let i = 0; i < onPage; i++) page.push((await request(t.url, `/invite?token=${guess()}`)).status);
    expect(page.every((s) => s === 404)).toBe(true);
    const acceptByApi = async () => (await request(t.url, '/admin/invites/accept', { body: { token: guess(), user: { first_name: 'Ann', last_name: 'Other', password: 'long enough pw' } } })).status;
    const api: number[] = [];
    for (let i = onPage; i < limits.tokenFailures.limit; i++) api.push(await acceptByApi());
    expect(api.every((s) => s === 400 || s === 404)).toBe(true);
    expect([await acceptByApi(), await acceptByApi()]).toEqual([429, 429]);
    expect((await request(t.url, `/invite?token=${guess()}`)).status).toBe(429);
    // Members who authenticate are not counted: 30 good requests first, then the guesses.
    for (let i = 0; i < 30; i++) expect((await request(t.url, '/admin/invites?limit=1', { apiToken: t.admin.apiToken })).status).toBe(200);
    const keys: number[] = [];
    for (let i = 0; i < limits.authFailures.limit + 3; i++) keys.push((await request(t.url, '/admin/invites', { apiToken: `dm_${guess()}` })).status);
    expect(keys.slice(0, limits.authFailures.limit).every((s) => s === 401)).toBe(true);
    expect(keys.slice(-3)).toEqual([429, 429, 429]);
    // Guessing from this address does not lock out whoever holds a valid token.
    expect((await request(t.url, '/admin/invites?limit=1', { apiToken: t.admin.apiToken })).status).toBe(200);
    // Passwords: wrong ones count (per address, per account from it, and per account); past the
    // budget that address is refused before any check, and the owner still gets in from elsewhere.
    const passwords: number[] = [];
    for (let i = 0; i < limits.passwordFailures.limit + 3; i++) passwords.push((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: `wrong-${i}-password` } })).status);
    expect(passwords.slice(0, limits.passwordFailures.limit).every((s) => s === 401)).toBe(true);
    expect(passwords.slice(-3)).toEqual([429, 429, 429]);
    expect((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password } })).status).toBe(429);
    expect((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password }, headers: { 'x-forwarded-for': '198.51.100.200' } })).status).toBe(200);
    report('rate-limits', {
      linkGuessesOnPageAndApi: page.length + api.length,
      linkRefusedAt: page.length + api.length + 1,
      apiKeyGuesses: keys.length,
      apiKeyRefusedAt: keys.indexOf(429) + 1,
      passwordGuesses: passwords.length,
      passwordRefusedAt: passwords.indexOf(429) + 1,
    });
  });

  it('requests for a new invitation: 10 an hour from one address, then a readable 429', async () => {
    expect(DEFAULT_RATE_LIMITS.renewalRequests).toEqual({ windowMs: 3_600_000, limit: 10 });
    const ask = () => fetch(`${t.url}/invite/renewal`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nonsense' });
    for (let i = 0; i < DEFAULT_RATE_LIMITS.renewalRequests.limit; i++) expect((await ask()).status).toBe(200);
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toContain('too many requests for new invitations');
  });

  it('a token reaches the database only as its SHA-256: a near-miss finds no row, as a random guess finds none, so no prefix of a token can be learnt by timing', async () => {
    await t.services.invites.inviteMany({ emails: 'ct@acme.test', actor: { type: 'system' } });
    const row = await t.invitation('ct@acme.test');
    const real = deriveToken(TEST_SECRET, row.token_nonce);
    const nearMiss = real.slice(0, 42) + (real.endsWith('A') ? 'B' : 'A');
    const sent: unknown[][] = [];
    const listen = (query: { sql: string; bindings?: unknown[] }) => void sent.push([query.sql, ...(query.bindings ?? [])]);
    t.services.db.on('query', listen);
    try {
      await expect(t.services.invites.lookupToken(nearMiss)).rejects.toMatchObject({ code: 'unknown_token' });
      expect((await t.services.invites.lookupToken(real)).email).toBe('ct@acme.test');
    } finally {
      t.services.db.off('query', listen);
    }
    const values = sent.flat().map(String);
    // Each lookup compares whole hashes in the index; the token's characters never meet a string comparison there.
    expect(values).toEqual(expect.arrayContaining([tokenHash(nearMiss), tokenHash(real)]));
    for (const token of [real, nearMiss]) expect(values.filter((v) => v.includes(token.slice(0, 16)))).toEqual([]);
  });
});

/** What the kernel may hold for a loopback connection (both ends' socket buffers): written by the client, never read by the server. */
const LOOPBACK_BUFFERS = 8 * 1024 * 1024;

describe.each(DIALECTS)('SQL injection and oversized bodies (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
    await t.services.invites.inviteMany({ emails: 'a@acme.test, b%x@acme.test, c_y@acme.test', actor: { type: 'system' } });
  });
  afterAll(async () => t?.close());

  it('search, sort and filter parameters are data or refused, never SQL', async () => {
    const get = (q: string) => request(t.url, `/admin/invites?${q}`, { apiToken: t.admin.apiToken });
    const payloads = ["' OR 1=1 --", "'; DROP TABLE invitations; --", '%', '_', '\\', "x' UNION SELECT password_hash,1,1 FROM members --", '" OR ""="'];
    let tried = 0;
    for (const p of payloads) {
      const search = await get(`q=${encodeURIComponent(p)}&status=all`);
      tried++;
      expect(search.status).toBe(200);
      // Matched literally: % and _ find only the addresses that contain them.
      const emails = search.json.invites.map((i: { user_email: string }) => i.user_email);
      for (const e of emails) expect(e).toContain(p.toLowerCase());
      for (const key of ['order', 'status', 'limit', 'offset']) {
        const r = await get(`${key}=${encodeURIComponent(p)}`);
        tried++;
        expect(r.status, `${key}=${p}`).toBe(400);
      }
    }
    expect((await get('q=%25&status=all')).json.invites.map((i: { user_email: string }) => i.user_email)).toEqual(['b%x@acme.test']);
    expect((await get('q=_&status=all')).json.invites.map((i: { user_email: string }) => i.user_email)).toEqual(['c_y@acme.test']);
    expect(Number((await t.services.db('invitations').count<{ n: number }[]>({ n: '*' }))[0]!.n)).toBe(3);
    report(`sql-injection-${dialect}`, { requests: tried, refusedOrLiteral: tried, tablesIntact: true });
  });

  it('a NUL character in the search text is data or refused, never a 5xx', async () => {
    for (const q of ['\u0000', 'a\u0000b', '%\u0000%']) {
      const r = await request(t.url, `/admin/invites?q=${encodeURIComponent(q)}&status=all`, { apiToken: t.admin.apiToken });
      expect(r.status, `q=${JSON.stringify(q)}: ${r.text.slice(0, 200)}`).toBeLessThan(500);
    }
  });

  it('oversized bodies get 413 early, on the admin API and the accept form', async () => {
    const big = JSON.stringify({ user: 'x'.repeat(100 * 1024), role: 'member' });
    const declared = await request(t.url, '/admin/invites', { apiToken: t.admin.apiToken, body: big });
    expect(declared.status).toBe(413);
    const streamedApi = await streamUntilAnswered(`${t.url}/admin/invites`, { 'content-type': 'application/json', 'x-medusa-access-token': t.admin.apiToken }, 64 * 1024 * 1024);
    expect(streamedApi.status).toBe(413);
    const form = await request(t.url, '/invite', { method: 'POST', body: 'token=' + 'a'.repeat(70 * 1024), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(413);
    const streamedForm = await streamUntilAnswered(`${t.url}/invite`, { 'content-type': 'application/x-www-form-urlencoded' }, 64 * 1024 * 1024);
    expect(streamedForm.status).toBe(413);
    // A declared length over the limit is answered at once, from the headers, before the body is
    // read; a streamed one is discarded (never kept) by the parser and answered once it ends (see
    // docs/security.md).
    const declaredStream = await streamUntilAnswered(`${t.url}/admin/invites`, { 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024), 'x-medusa-access-token': t.admin.apiToken }, 64 * 1024 * 1024, false);
    expect(declaredStream.status).toBe(413);
    expect(declaredStream.bytesSent).toBeLessThan(16 * 1024 * 1024);
    // After the refusal the server reads and drops what the client goes on sending, so the client
    // reads the 413 rather than a reset — but only so much and so long: a sender that does not stop
    // is cut off after 16 MB (a fast one) or 5 s (a slow one), long before its declared 256 MB.
    const headers = { 'content-type': 'application/json', 'content-length': String(256 * 1024 * 1024), 'x-medusa-access-token': t.admin.apiToken };
    const fast = await streamPastAnswer(`${t.url}/admin/invites`, headers, 256 * 1024 * 1024);
    expect(fast.status).toBe(413);
    expect(fast.bytesBeforeAnswer).toBeLessThan(16 * 1024 * 1024);
    expect(fast.closedAfterMs, 'the connection was never closed').toBeDefined();
    expect(fast.bytesSent).toBeGreaterThan(fast.bytesBeforeAnswer);
    expect(fast.bytesSent).toBeLessThan(16 * 1024 * 1024 + LOOPBACK_BUFFERS);
    const slow = await streamPastAnswer(`${t.url}/admin/invites`, headers, 256 * 1024 * 1024, { chunkDelayMs: 50 });
    expect(slow.status).toBe(413);
    expect(slow.closedAfterMs, 'the connection was never closed').toBeDefined();
    expect(slow.closedAfterMs!).toBeGreaterThan(4_000);
    expect(slow.closedAfterMs!).toBeLessThan(5_000 + 2_000);
    report(`oversized-${dialect}`, {
      apiDeclared: declared.status,
      declaredStreamBytesBeforeAnswer: declaredStream.bytesSent,
      lingerFastBytesBeforeClose: fast.bytesSent,
      lingerFastClosedAfterMs: fast.closedAfterMs,
      lingerSlowBytesBeforeClose: slow.bytesSent,
      lingerSlowClosedAfterMs: slow.closedAfterMs,
      apiStreamed: streamedApi.status,
      apiBytesBeforeAnswer: streamedApi.bytesSent,
      form: form.status,
      formStreamed: streamedForm.status,
      formBytesBeforeAnswer: streamedForm.bytesSent,
    });
  });
});
