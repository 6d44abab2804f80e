import express from 'express';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/logger.js';
import { warnOfUntrustedForwarding } from '../../src/web/server.js';
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashingLoad, MAX_WAITING_SIGN_INS, verifyPassword } from '../../src/members/passwords.js';
import { DIALECTS } from '../support/db.js';
import { linkFromEmail, postForm, request, settled, snapshot, startTestApp, type TestApp } from '../support/http.js';

/** The session cookie from a sign-in, as a browser would send it back. */
async function signIn(t: TestApp): Promise<string> {
  const res = await request(t.url, '/admin/auth', { body: { email: t.admin.email, password: t.admin.password } });
  expect(res.status).toBe(200);
  return /doorman\.sid=[^;]+/.exec(res.headers.get('set-cookie')!)![0];
}

describe.each(DIALECTS)('no cross-site writes (%s)', (dialect) => {
  let t: TestApp;
  let cookie: string;
  beforeAll(async () => {
    t = await startTestApp(dialect, { env: { PUBLIC_URL: 'http://doorman.test' } });
    cookie = await signIn(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a text/plain form from a same-site page with the admin\'s cookie creates nothing (415)', async () => {
    const before = await snapshot(t.services);
    // The body a form with one field named `{"user":"x` makes, duplicate keys and all.
    const body = '{"user":"x=","user":"csrf@evil.test","role":"admin"}';
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await request(t.url, '/admin/invites', { body, cookie, headers: { 'content-type': type, origin: 'http://sibling.doorman.test', 'sec-fetch-site': 'same-site' } });
      expect(res.status, type).toBe(415);
      expect(res.json).toMatchObject({ type: 'invalid_data', code: 'unsupported_media_type' });
    }
    expect(await snapshot(t.services)).toEqual(before);
  });

  it('JSON with the cookie from another origin, even a sibling subdomain, is refused (403); from Doorman\'s own pages it works', async () => {
    const before = await snapshot(t.services);
    const body = { user: 'csrf2@evil.test', role: 'admin' };
    for (const headers of [{ origin: 'http://sibling.doorman.test' }, { 'sec-fetch-site': 'same-site' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' }] as Array<Record<string, string>>) {
      const res = await request(t.url, '/admin/invites', { body, cookie, headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.json).toMatchObject({ code: 'cross_site' });
    }
    // A bodiless change (resend) and a delete, the same way.
    const invited = await t.services.invites.inviteMany({ emails: 'kept@corp.test', actor: { type: 'system' } });
    await settled(t.services);
    const id = invited.invitationIds[0]!;
    const mid = await snapshot(t.services);
    expect((await request(t.url, `/admin/invites/${id}/resend`, { method: 'POST', cookie, headers: { origin: 'http://sibling.doorman.test' } })).status).toBe(403);
    expect((await request(t.url, `/admin/invites/${id}`, { method: 'DELETE', cookie, headers: { 'sec-fetch-site': 'same-site' } })).status).toBe(403);
    expect(await snapshot(t.services)).toEqual(mid);
    expect(before.invitations).toHaveLength(mid.invitations.length - 1);
    // Reading with the cookie is fine from anywhere the browser allows; changing from its own origin works.
    expect((await request(t.url, '/admin/invites', { cookie, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
    const own = await request(t.url, '/admin/invites', { body: { user: 'own@corp.test', role: 'member' }, cookie, headers: { origin: 'http://doorman.test', 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
    // Signing in from another site's page is refused too (no login CSRF).
    expect((await request(t.url, '/admin/auth', { body: { email: t.admin.email, password: t.admin.password }, headers: { origin: 'https://evil.test' } })).status).toBe(403);
  });

  it('a second session cookie, planted by a sibling subdomain for the parent domain, signs the request in as neither', async () => {
    const other = await t.createMember('admin', 'planter@corp.test', 'planter-password-1');
    const res = await request(t.url, '/admin/auth', { body: { email: other.member.email, password: 'planter-password-1' } });
    const planted = /doorman\.sid=[^;]+/.exec(res.headers.get('set-cookie')!)![0];
    expect((await request(t.url, '/admin/auth', { cookie: planted })).json.user.email).toBe('planter@corp.test');
    // The browser lists the planted one (longer path) first.
    for (const both of [`${planted}; ${cookie}`, `${cookie}; ${planted}`]) {
      const who = await request(t.url, '/admin/auth', { cookie: both });
      expect(who.status).toBe(401);
      expect(JSON.stringify(who.json)).not.toContain('planter@corp.test');
    }
    expect((await request(t.url, '/admin/auth', { cookie })).json.user.email).toBe(t.admin.email);
  });

  it('API tokens and Bearer tokens are not asked where a request came from', async () => {
    const viaToken = await request(t.url, '/admin/invites', { body: { user: 'token@corp.test', role: 'member' }, apiToken: t.admin.apiToken, headers: { origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' } });
    expect(viaToken.status).toBe(200);
    const bearer = (await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password } })).json.access_token as string;
    expect((await request(t.url, '/admin/invites', { body: { user: 'bearer@corp.test', role: 'member' }, bearer, headers: { origin: 'https://evil.test' } })).status).toBe(200);
  });

  it('every /admin answer is marked no-store, errors included', async () => {
    for (const res of [
      await request(t.url, '/admin/invites', { apiToken: t.admin.apiToken }),
      await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password } }),
      await request(t.url, '/admin/invites'),
      await request(t.url, '/admin/nowhere', { apiToken: t.admin.apiToken }),
    ]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });
});

describe.each(DIALECTS)('limits that hold behind a proxy (%s)', (dialect) => {
  let t: TestApp;
  const budget = { windowMs: 60_000, limit: 3 };
  const ADDRESS_BUDGET = { windowMs: 60_000, limit: 5 };
  beforeAll(async () => {
    t = await startTestApp(dialect, { env: { TRUST_PROXY: '1' }, rateLimits: { passwordFailures: budget, passwordAddressFailures: ADDRESS_BUDGET, authFailures: budget, tokenFailures: budget, renewalRequests: budget } });
  });
  afterAll(async () => {
    await t?.close();
  });
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  it('requests for a new invitation are limited per address: past the budget 429 with Retry-After, other addresses unaffected', async () => {
    const ask = (ip: string) => fetch(`${t.url}/invite/renewal`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...from(ip) }, body: 'token=whatever' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await ask('198.51.100.4')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await ask('198.51.100.4');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.text()).toContain('Too many requests');
    expect((await ask('198.51.100.5')).status).toBe(200);
  });

  it('wrong passwords from one address stop its guesses before they are checked; the account\'s owner still gets in from elsewhere', async () => {
    const checks = vi.spyOn(t.services.members, 'verifyCredentials');
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: `guess-${i}` }, headers: from('203.0.113.7') })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const limited = await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: 'guess-5' }, headers: from('203.0.113.7') });
      expect(limited.json).toMatchObject({ code: 'rate_limited' });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // The message names the wait Retry-After gives (the budget's window here is a minute).
      expect(limited.json.message).toMatch(new RegExp(`try again in ${limited.headers.get('retry-after')} seconds`));
      // From that address even the right password is refused unchecked: a 429 tells a guesser nothing, and costs no hash.
      expect((await request(t.url, '/admin/auth', { body: { email: t.admin.email, password: t.admin.password }, headers: from('203.0.113.7') })).status).toBe(429);
      expect(checks).toHaveBeenCalledTimes(3);
      // Elsewhere the account's own count only turns a wrong password's 401 into 429; the right one gets in.
      expect((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: 'guess-6' }, headers: from('203.0.113.8') })).status).toBe(429);
      expect((await request(t.url, '/admin/auth', { body: { email: t.admin.email, password: t.admin.password }, headers: from('203.0.113.8') })).status).toBe(200);
    } finally {
      checks.mockRestore();
    }
  });

  it('guesses sent all at once are counted as they come, not once checked: no more than the budget is ever checked', async () => {
    const checks = vi.spyOn(t.services.members, 'verifyCredentials');
    try {
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: `burst-${i}` }, headers: from('203.0.113.70') })));
      expect(burst.filter((r) => r.status === 401)).toHaveLength(budget.limit);
      expect(burst.filter((r) => r.status === 429)).toHaveLength(10 - budget.limit);
      expect(checks).toHaveBeenCalledTimes(budget.limit);
      // A right password is given back its count: the owner signing in often is never refused for it.
      for (let i = 0; i < ADDRESS_BUDGET.limit + 2; i++) expect((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password }, headers: from('203.0.113.71') })).status).toBe(200);
    } finally {
      checks.mockRestore();
    }
  });

  it('a sign-in turned away unjudged (too busy hashing) is not counted against the address', async () => {
    // Every hashing slot and the sign-in queue taken, in this process.
    const filler = Array.from({ length: hashingLoad().slots + MAX_WAITING_SIGN_INS }, () => verifyPassword(null, 'filler password'));
    const busy: number[] = [];
    for (let i = 0; i < budget.limit + 2; i++) busy.push((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password }, headers: from('203.0.113.80') })).status);
    await Promise.all(filler);
    expect(busy).toEqual(Array<number>(budget.limit + 2).fill(503));
    expect((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password }, headers: from('203.0.113.80') })).status).toBe(200);
  });

  it('one address trying many accounts is stopped before its guesses are checked, whichever account it names next', async () => {
    const checks = vi.spyOn(t.services.members, 'verifyCredentials');
    try {
      const statuses: number[] = [];
      for (let i = 0; i < ADDRESS_BUDGET.limit + 2; i++) statuses.push((await request(t.url, '/admin/auth/token', { body: { email: `sprayed-${i}@corp.test`, password: 'Summer2026!' }, headers: from('203.0.113.60') })).status);
      expect(statuses).toEqual([...Array<number>(ADDRESS_BUDGET.limit).fill(401), 429, 429]);
      expect(checks).toHaveBeenCalledTimes(ADDRESS_BUDGET.limit);
      // Another client is not held back by it.
      expect((await request(t.url, '/admin/auth', { body: { email: t.admin.email, password: t.admin.password }, headers: from('203.0.113.61') })).status).toBe(200);
    } finally {
      checks.mockRestore();
    }
  });

  it('bad API tokens from one address never stop a valid token from it, nor other clients behind the same proxy', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await request(t.url, '/admin/invites', { apiToken: `dm_${'x'.repeat(40)}${i}`, headers: from('198.51.100.9') })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    expect((await request(t.url, '/admin/invites', { apiToken: t.admin.apiToken, headers: from('198.51.100.9') })).status).toBe(200);
    // Another client behind the same proxy (its own X-Forwarded-For) is not held back by the first.
    expect((await request(t.url, '/admin/invites', { apiToken: 'dm_not-a-real-token-at-all-000000', headers: from('198.51.100.10') })).status).toBe(401);
  });

  it('browser preflights (OPTIONS, no credentials) are answered and never counted as failed sign-ins', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${t.url}/admin/invites`, { method: 'OPTIONS', headers: { origin: 'https://dash.example', 'access-control-request-method': 'GET', ...from('198.51.100.20') } });
      expect(res.status).toBe(204);
      // No CORS grant: the admin API serves its own origin and server-side clients.
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
    expect((await request(t.url, '/admin/invites', { apiToken: 'dm_not-a-real-token-at-all-000000', headers: from('198.51.100.20') })).status).toBe(401);
  });

  it('an old email\'s link, replaced by a newer invitation, is told so however often it is opened: no guess finds one, so none is counted', async () => {
    const [id] = (await t.services.invites.inviteMany({ emails: 'twice.sent@corp.test', actor: { type: 'system' } })).invitationIds;
    const { token: old } = await linkFromEmail(t.smtp, 'twice.sent@corp.test');
    await t.services.db('invitations').where({ id: id! }).update({ expires_at: Date.now() - 1 });
    await t.services.invites.renew(id!, { type: 'system' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(t.url, `/invite?token=${old}`, { headers: from('192.0.2.77') })).status);
    expect(statuses).toEqual([410, 410, 410, 410, 410]);
    // The address has spent none of its budget on them.
    expect((await request(t.url, `/invite?token=${'7'.repeat(43)}`, { headers: from('192.0.2.77') })).status).toBe(404);
  });

  it('a request with no credential at all is 401 however often it comes: it guesses nothing, so it is not counted', async () => {
    const bare: number[] = [];
    for (let i = 0; i < budget.limit + 3; i++) bare.push((await request(t.url, '/admin/auth', { headers: from('198.51.100.30') })).status);
    expect(bare).toEqual(Array<number>(budget.limit + 3).fill(401));
    // A wrong one still counts.
    const wrong: number[] = [];
    for (let i = 0; i < budget.limit + 1; i++) wrong.push((await request(t.url, '/admin/auth', { apiToken: `dm_wrong-token-${i}-000000000000000000`, headers: from('198.51.100.30') })).status);
    expect(wrong).toEqual([...Array<number>(budget.limit).fill(401), 429]);
  });

  it('an IPv6 client is one client across its /56: a new address per guess does not reset the budget', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(t.url, `/invite?token=${String(i + 5).repeat(43)}`, { headers: from(`2001:db8:abcd:12${i}::${i + 1}`) })).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    // Another allocation is another client.
    expect((await request(t.url, `/invite?token=${'8'.repeat(43)}`, { headers: from('2001:db8:abce::1') })).status).toBe(404);
  });

  it('unknown invitation links are limited per client; a real link always opens', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(t.url, `/invite?token=${String(i).repeat(43)}`, { headers: from('192.0.2.44') })).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    const limited = await request(t.url, `/invite?token=${'9'.repeat(43)}`, { headers: from('192.0.2.44') });
    expect(limited.text).toMatch(/Too many attempts/);
    expect(limited.text).toContain(`Wait ${limited.headers.get('retry-after')} seconds`);
    expect(limited.headers.get('retry-after')).toBeTruthy();
    await t.services.invites.inviteMany({ emails: 'real@corp.test', actor: { type: 'system' } });
    const { token } = await linkFromEmail(t.smtp, 'real@corp.test');
    const page = await request(t.url, `/invite?token=${token}`, { headers: from('192.0.2.44') });
    expect(page.status).toBe(200);
    expect(page.text).toContain('real@corp.test');
  });
});

describe('password hashing sheds load instead of queueing without bound', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`a flood of sign-ins gets 503 with Retry-After beyond ${MAX_WAITING_SIGN_INS} waiting; the rest are answered, and an invitee accepting meanwhile is not turned away`, async () => {
    await t.services.invites.inviteMany({ emails: 'joining.in.a.flood@corp.test', actor: { type: 'system' } });
    const { token } = await linkFromEmail(t.smtp, 'joining.in.a.flood@corp.test');
    let mostWaiting = 0;
    const watch = setInterval(() => (mostWaiting = Math.max(mostWaiting, hashingLoad().waitingSignIns)), 2);
    try {
      const signIns = Array.from({ length: MAX_WAITING_SIGN_INS + hashingLoad().slots + 30 }, (_, i) => request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: `wrong-${i}` } }));
      // Once the sign-ins fill their queue, an accept still finds room in its own (served first: it
      // waits only for the hashes already running).
      while (hashingLoad().waitingSignIns < MAX_WAITING_SIGN_INS) await new Promise((resolve) => setTimeout(resolve, 2));
      const accepted = await request(t.url, '/admin/invites/accept', { body: { token, user: { first_name: 'Flo', last_name: 'Od', password: 'a-long-password' } } });
      expect(accepted.status, accepted.text).toBe(200);
      const flood = await Promise.all(signIns);
      const statuses = flood.map((r) => r.status);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(20);
      expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
      const shed = flood.find((r) => r.status === 503)!;
      expect(shed.headers.get('retry-after')).toBe('1');
      expect(shed.json).toMatchObject({ type: 'unknown_error', message: expect.stringMatching(/try again/) });
    } finally {
      clearInterval(watch);
    }
    expect(mostWaiting).toBeLessThanOrEqual(MAX_WAITING_SIGN_INS);
    // Once it passes, sign-in works again.
    expect((await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password } })).status).toBe(200);
  });
});

describe.each(DIALECTS)('tokens end when they should (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('signing out with a Bearer token revokes it, and every other session of the member', async () => {
    const bearer = (await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password } })).json.access_token as string;
    const cookie = await signIn(t);
    expect((await request(t.url, '/admin/auth', { bearer })).status).toBe(200);
    expect((await request(t.url, '/admin/auth', { method: 'DELETE', bearer })).status).toBe(200);
    expect((await request(t.url, '/admin/auth', { bearer })).status).toBe(401);
    expect((await request(t.url, '/admin/auth', { cookie })).status).toBe(401);
    // The API token is the member's own credential, not a session: it still works.
    expect((await request(t.url, '/admin/auth', { apiToken: t.admin.apiToken })).status).toBe(200);
  });

  it('deactivation ends sessions, Bearer and API token; coming back (re-invited, accepted) brings back none of them, nor the Slack link', async () => {
    const member = await t.createMember('admin', 'leaver@corp.test', 'leaver-password-1');
    expect(await t.services.members.linkSlackUser(member.member.id, 'U0LEAVER', { type: 'system' })).toBe(true);
    expect((await t.services.members.get(member.member.id)).slackUserId).toBe('U0LEAVER');
    const bearer = (await request(t.url, '/admin/auth/token', { body: { email: 'leaver@corp.test', password: 'leaver-password-1' } })).json.access_token as string;
    const session = await request(t.url, '/admin/auth', { body: { email: 'leaver@corp.test', password: 'leaver-password-1' } });
    const cookie = /doorman\.sid=[^;]+/.exec(session.headers.get('set-cookie')!)![0];
    await t.services.members.deactivate(member.member.id, { type: 'system' });
    for (const credential of [{ bearer }, { cookie }, { apiToken: member.apiToken }]) expect((await request(t.url, '/admin/auth', credential)).status).toBe(401);
    // Re-invited and accepted — possibly by someone else now holding the address.
    await t.services.invites.inviteMany({ emails: 'leaver@corp.test', role: 'admin', actor: { type: 'system' } });
    const { token } = await linkFromEmail(t.smtp, 'leaver@corp.test');
    expect((await postForm(t.url, '/invite', { token, first_name: 'New', last_name: 'Holder', password: 'new-holder-pass-1', confirm_password: 'new-holder-pass-1' })).status).toBe(303);
    for (const credential of [{ bearer }, { cookie }, { apiToken: member.apiToken }]) expect((await request(t.url, '/admin/auth', credential)).status).toBe(401);
    const back = await t.services.members.get(member.member.id);
    expect(back).toMatchObject({ state: 'active', hasApiToken: false, slackUserId: null });
  });
});

describe('files in DATA_DIR', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
  });

  it('DATA_DIR is created 0700, the generated secret and the SQLite file 0600', async () => {
    const dir = path.join(statSync('/tmp').isDirectory() ? '/tmp' : process.cwd(), `doorman-perm-${process.pid}-${Date.now()}`, 'data');
    t = await startTestApp('sqlite', { env: { DATA_DIR: dir, DATABASE_URL: '', APP_SECRET: '' } });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'app-secret')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'doorman.sqlite3')).mode & 0o777).toBe(0o600);
  });
});

describe('TRUST_PROXY left wrong behind a proxy', () => {
  it('is said once, at the first X-Forwarded-For from a peer it does not trust; a trusted proxy is not', async () => {
    const heard = async (trust: boolean | string) => {
      const lines: Array<{ level: number; msg: string }> = [];
      const app = express();
      app.set('trust proxy', trust);
      app.use(warnOfUntrustedForwarding(createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) } as never)));
      app.get('/', (_req, res) => void res.send('ok'));
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      try {
        for (let i = 0; i < 3; i++) await fetch(url, { headers: { 'x-forwarded-for': `198.51.100.${i}` } });
        await fetch(url);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      return lines.filter((line) => line.msg.includes('X-Forwarded-For came from a peer TRUST_PROXY does not trust'));
    };
    expect(await heard(false)).toHaveLength(1);
    expect(await heard('loopback')).toHaveLength(0);
  });
});
