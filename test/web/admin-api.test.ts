import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, ManualClock, TEST_SECRET } from '../support/db.js';
import { hashingLoad, hashPassword, MAX_WAITING_HASHES, Scrypt, SCRYPT_PARAMS } from '../../src/members/passwords.js';
import { linkFromEmail, OPERATOR, postForm, request, settled, snapshot, startTestApp, type HttpAnswer, type TestApp } from '../support/http.js';
import { emailed } from '../support/mail.js';

const DAY = 86_400_000;
const TTL = 7 * DAY;
const PASSWORD = 'correct horse battery';

describe.each(DIALECTS)('admin API over raw HTTP (%s)', (dialect) => {
  let t: TestApp;
  let clock: ManualClock;
  let n = 0;
  /** A fresh address per call, so tests never see each other's invitations. */
  const fresh = (label: string) => `${label}-${++n}@example.test`;

  beforeAll(async () => {
    clock = new ManualClock();
    t = await startTestApp(dialect, { clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  const admin = (pathname: string, options: Parameters<typeof request>[2] = {}) => request(t.url, pathname, { apiToken: t.admin.apiToken, ...options });
  const invite = async (email: string, role = 'member') => {
    const res = await admin('/admin/invites', { body: { user: email, role } });
    expect(res.status, res.text).toBe(200);
    return t.invitation(email);
  };
  /** The current token, as the admin listing hands it out. */
  const tokenOf = async (email: string): Promise<string> => {
    const res = await admin(`/admin/invites?q=${encodeURIComponent(email)}&status=all`);
    const found = (res.json.invites as Array<{ user_email: string; token: string | null }>).find((i) => i.user_email === email);
    if (!found?.token) throw new Error(`no live token for ${email}`);
    return found.token;
  };
  const accept = (token: string, password = PASSWORD) => request(t.url, '/admin/invites/accept', { body: { token, user: { first_name: 'New', last_name: 'Person', password } } });
  const expectMedusaError = (res: HttpAnswer, status: number, type: string) => {
    expect(res.status, res.text).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.json).toMatchObject({ type, message: expect.any(String) });
  };

  describe('authentication', () => {
    const protectedRoutes: Array<[string, string, unknown?]> = [
      ['GET', '/admin/invites'],
      ['POST', '/admin/invites', { user: 'x@example.test', role: 'member' }],
      ['POST', '/admin/invites/invite_01ABC/resend', {}],
      ['DELETE', '/admin/invites/invite_01ABC'],
      ['GET', '/admin/users'],
      ['GET', '/admin/auth'],
      ['DELETE', '/admin/auth'],
    ];

    it('401 {type: unauthorized} without credentials on every protected route', async () => {
      for (const [method, pathname, body] of protectedRoutes) {
        const res = await request(t.url, pathname, { method, body });
        expectMedusaError(res, 401, 'unauthorized');
      }
    });

    it('401 with a wrong API token, a bad, tampered, foreign or expired bearer', async () => {
      const good = await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password } });
      expect(good.status).toBe(200);
      const bearer = good.json.access_token as string;
      expect(bearer.split('.')).toHaveLength(3);
      expect((await admin('/admin/invites', { apiToken: undefined, bearer })).status).toBe(200);

      const [header, payload, signature] = bearer.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...claims, user_id: 'usr_SOMEONEELSE' })).toString('base64url');
      const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
      // Signed with Medusa's habits but not with Doorman's derived key: the raw APP_SECRET.
      const foreignSig = createHmac('sha256', TEST_SECRET).update(`${header}.${payload}`).digest('base64url');
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;

      const attempts: Array<Record<string, string>> = [
        { 'x-medusa-access-token': 'dm_not-a-real-token-at-all-0123456789' },
        { 'x-medusa-access-token': t.admin.apiToken.slice(0, -1) + (t.admin.apiToken.endsWith('A') ? 'B' : 'A') },
        { authorization: 'Bearer nonsense' },
        { authorization: `Bearer ${header}.${forged}.${signature}` },
        { authorization: `Bearer ${header}.${payload}.${flipped}` },
        { authorization: `Bearer ${header}.${payload}.${foreignSig}` },
        { authorization: `Bearer ${none}` },
        { authorization: `Basic ${Buffer.from(`${t.admin.email}:${t.admin.password}`).toString('base64')}` },
        { cookie: `doorman.sid=${bearer}` }, // a bearer token is not a session cookie
      ];
      for (const headers of attempts) {
        const res = await request(t.url, '/admin/invites', { headers });
        expect(res.status, JSON.stringify(headers)).toBe(401);
        expect(res.json.type).toBe('unauthorized');
      }

      clock.advance(24 * 3600 * 1000 + 1000);
      expectMedusaError(await request(t.url, '/admin/invites', { bearer }), 401, 'unauthorized');
    });

    it('401 for wrong sign-in credentials, the same for an unknown email', async () => {
      for (const body of [
        { email: t.admin.email, password: 'wrong-password' },
        { email: 'nobody@example.test', password: 'wrong-password' },
      ]) {
        expectMedusaError(await request(t.url, '/admin/auth/token', { body }), 401, 'unauthorized');
        const session = await request(t.url, '/admin/auth', { body });
        expectMedusaError(session, 401, 'unauthorized');
        expect(session.headers.get('set-cookie')).toBeNull();
      }
    });

    it('a credential that does not work does not hide one that does (Medusa tries each in turn)', async () => {
      const m = await t.createMember('admin', fresh('both'));
      const bearer = (await request(t.url, '/admin/auth/token', { body: { email: m.member.email, password: m.password } })).json.access_token as string;
      const cookie = ((await request(t.url, '/admin/auth', { body: { email: m.member.email, password: m.password } })).headers.get('set-cookie') ?? '').split(';')[0]!;
      // medusa-js sends its API key and the Bearer token it was given; the key was rotated since.
      const stale = 'dm_rotated-away-0123456789abcdefghij';
      expect((await request(t.url, '/admin/invites', { apiToken: stale, bearer })).status).toBe(200);
      // A proxy's Basic authorization beside the session cookie.
      const me = await request(t.url, '/admin/auth', { cookie, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(me.status).toBe(200);
      expect(me.json.user.id).toBe(m.member.id);
      // Let in by the cookie, a change is still asked where it comes from.
      const crossSite = await request(t.url, '/admin/invites', { body: { user: fresh('csrf'), role: 'member' }, apiToken: stale, cookie, headers: { origin: 'https://evil.test' } });
      expect(crossSite.status).toBe(403);
      expect(crossSite.json).toMatchObject({ code: 'cross_site' });
      // Nothing that works: still refused.
      expectMedusaError(await request(t.url, '/admin/invites', { apiToken: stale, headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'unauthorized');
    });

    it('a deactivated member is refused with the token and bearer it had', async () => {
      const m = await t.createMember('admin', fresh('leaver'));
      const bearer = (await request(t.url, '/admin/auth/token', { body: { email: m.member.email, password: m.password } })).json.access_token as string;
      expect((await request(t.url, '/admin/invites', { bearer })).status).toBe(200);
      await t.services.members.deactivate(m.member.id, OPERATOR);
      expect((await request(t.url, '/admin/invites', { bearer })).status).toBe(401);
      expect((await request(t.url, '/admin/invites', { apiToken: m.apiToken })).status).toBe(401);
      expect((await request(t.url, '/admin/auth/token', { body: { email: m.member.email, password: m.password } })).status).toBe(401);
    });

    it('403 {type: not_allowed} for a member without Member: Manage on every invite route and the user list; nothing changes', async () => {
      const target = await invite(fresh('target'));
      const m = await t.createMember('developer', fresh('dev'));
      await settled(t.services);
      const before = await snapshot(t.services);
      const routes: Array<[string, string, unknown?]> = [
        ['GET', '/admin/invites'],
        ['POST', '/admin/invites', { user: fresh('by-dev'), role: 'admin' }],
        ['POST', `/admin/invites/${target.id}/resend`, {}],
        ['DELETE', `/admin/invites/${target.id}`],
        // Members are the product's users, not staff as in Medusa: the directory (admins, deactivated accounts) is not theirs to read.
        ['GET', '/admin/users'],
        ['GET', '/admin/users?role=admin'],
        ['GET', `/admin/users/${t.admin.member.id}`],
      ];
      for (const [method, pathname, body] of routes) {
        const res = await request(t.url, pathname, { method, body, apiToken: m.apiToken });
        expectMedusaError(res, 403, 'not_allowed');
        expect(res.json.message).toMatch(/Member: Manage/);
      }
      expect(await snapshot(t.services)).toEqual(before);
      // The member may still see who they are.
      const me = await request(t.url, '/admin/auth', { apiToken: m.apiToken });
      expect(me.status).toBe(200);
      expect(me.json.user.email).toBe(m.member.email);
    });

    it('POST /admin/auth sets an HttpOnly session cookie that works; DELETE /admin/auth clears it', async () => {
      const res = await request(t.url, '/admin/auth', { body: { email: t.admin.email.toUpperCase(), password: t.admin.password } });
      expect(res.status).toBe(200);
      expect(res.json.user).toMatchObject({ id: t.admin.member.id, email: t.admin.email, role: 'admin' });
      expect(res.json.user).not.toHaveProperty('password_hash');
      const setCookie = res.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(/HttpOnly/i);
      expect(setCookie).toMatch(/SameSite=Lax/i);
      expect(setCookie).toMatch(/Path=\/admin/i);
      expect(setCookie).not.toMatch(/;\s*Secure/i); // PUBLIC_URL is http here
      const cookie = setCookie.split(';')[0]!;

      const me = await request(t.url, '/admin/auth', { cookie });
      expect(me.status).toBe(200);
      expect(me.json.user.id).toBe(t.admin.member.id);
      expect((await request(t.url, '/admin/invites', { cookie })).status).toBe(200);

      const out = await request(t.url, '/admin/auth', { method: 'DELETE', cookie });
      expect(out.status).toBe(200);
      expect(out.text).toBe('OK');
      expect(out.headers.get('set-cookie')).toMatch(/doorman\.sid=;.*Expires=Thu, 01 Jan 1970/i);
      // The session is over on the server too: replaying the old cookie is refused.
      expect((await request(t.url, '/admin/auth', { cookie })).status).toBe(401);
      // A bearer token (scripts) is not a browser session and keeps working.
      const token = await request(t.url, '/admin/auth/token', { body: { email: t.admin.email, password: t.admin.password } });
      expect((await request(t.url, '/admin/auth', { headers: { authorization: `Bearer ${token.json.access_token}` } })).status).toBe(200);
      const again = await request(t.url, '/admin/auth', { body: { email: t.admin.email, password: t.admin.password } });
      expect((await request(t.url, '/admin/auth', { cookie: (again.headers.get('set-cookie') ?? '').split(';')[0]! })).status).toBe(200);
    });

    it('GET /admin/invites pages as it answers: a limit past 500 is refused, and the answer names the limit it applied', async () => {
      const page = await admin('/admin/invites?limit=500&offset=0');
      expect(page.status, page.text).toBe(200);
      expect(page.json).toMatchObject({ limit: 500, offset: 0 });
      expectMedusaError(await admin('/admin/invites?limit=501'), 400, 'invalid_data');
      expect((await admin('/admin/users?limit=1000')).json).toMatchObject({ limit: 1000 });
      expectMedusaError(await admin('/admin/users?limit=1001'), 400, 'invalid_data');
    });

    it('GET /admin/users lists members without password hashes or API tokens', async () => {
      const res = await admin('/admin/users');
      expect(res.status).toBe(200);
      expect(res.json.users.length).toBeGreaterThan(0);
      for (const user of res.json.users) {
        expect(Object.keys(user)).not.toContain('password_hash');
        expect(user.api_token).toBeNull();
        expect(JSON.stringify(user)).not.toMatch(/scrypt|\$s0|c2NyeXB0/);
      }
    });
  });

  describe('request bodies', () => {
    it('unknown fields → 400 invalid_data naming them', async () => {
      const res = await admin('/admin/invites', { body: { user: fresh('x'), role: 'member', colour: 'blue', admin: true } });
      expectMedusaError(res, 400, 'invalid_data');
      expect(res.json.message).toContain('property colour should not exist');
      expect(res.json.message).toContain('property admin should not exist');

      const nested = await request(t.url, '/admin/invites/accept', { body: { token: 'x'.repeat(43), user: { password: PASSWORD, is_admin: true } } });
      expectMedusaError(nested, 400, 'invalid_data');
      expect(nested.json.message).toContain('user.is_admin should not exist');
      const resend = await admin('/admin/invites/invite_01ABC/resend', { body: { force: true } });
      expectMedusaError(resend, 400, 'invalid_data');
    });

    it('missing or bad fields → 400 invalid_data: role, email, types, length caps', async () => {
      // Names are judged once the link is known to be open: an unknown one is answered as unknown first.
      const namesEmail = fresh('names');
      await invite(namesEmail);
      const liveToken = await tokenOf(namesEmail);
      const cases: Array<[string, unknown, RegExp]> = [
        ['/admin/invites', { user: fresh('norole') }, /role/],
        ['/admin/invites', { role: 'member' }, /user/],
        ['/admin/invites', { user: fresh('r'), role: 'owner' }, /role/],
        ['/admin/invites', { user: 'not-an-email', role: 'member' }, /not-an-email/],
        ['/admin/invites', { user: 'a@b.test, c@d.test', role: 'member' }, /one email|exactly one/i],
        ['/admin/invites', { user: 42, role: 'member' }, /user/],
        ['/admin/invites', { user: `${'a'.repeat(320)}@x.io`, role: 'member' }, /at most 320/],
        ['/admin/invites', [], /./],
        ['/admin/auth/token', { email: t.admin.email }, /password/],
        ['/admin/auth/token', { email: t.admin.email, password: 'p'.repeat(1025) }, /at most 1024/],
        ['/admin/invites/accept', {}, /token/],
        ['/admin/invites/accept', { token: 'x'.repeat(43), user: {} }, /password/],
        ['/admin/invites/accept', { token: 'x'.repeat(201), user: { password: PASSWORD } }, /at most 200/],
        ['/admin/invites/accept', { token: 'x'.repeat(43), user: { first_name: 'f'.repeat(201), password: PASSWORD } }, /at most 200/],
        // The rule "Accept": first and last name are required at every door (Medusa v1 leaves them optional).
        ['/admin/invites/accept', { token: liveToken, user: { last_name: 'Doe', password: PASSWORD } }, /first_name/],
        ['/admin/invites/accept', { token: liveToken, user: { first_name: 'Jane', password: PASSWORD } }, /last_name/],
      ];
      await settled(t.services);
      const before = await snapshot(t.services);
      for (const [pathname, body, message] of cases) {
        const res = await admin(pathname, { body });
        expectMedusaError(res, 400, 'invalid_data');
        expect(res.json.message, `${pathname} ${JSON.stringify(body).slice(0, 80)}`).toMatch(message);
      }
      expect(await snapshot(t.services)).toEqual(before);
    });

    it('a body over 64 kB → 413 with a JSON error; invalid JSON → 400 JSON', async () => {
      const big = await admin('/admin/invites', { body: JSON.stringify({ user: 'a@b.test', role: 'member', pad: 'x'.repeat(70 * 1024) }) });
      expectMedusaError(big, 413, 'invalid_data');
      const bigAccept = await request(t.url, '/admin/invites/accept', { body: JSON.stringify({ token: 'x', user: { password: 'x'.repeat(70 * 1024) } }) });
      expect(bigAccept.status).toBe(413);
      for (const broken of ['{"user": "a@b.test",', 'not json', '{"user": "a@b.test"}}']) {
        expectMedusaError(await admin('/admin/invites', { body: broken }), 400, 'invalid_data');
      }
      // Another content type is refused (a form or text/plain is what a page on another site can send).
      expectMedusaError(await admin('/admin/invites', { body: 'user=a@b.test', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'invalid_data');
      // An ordinary client sending a large body reads the 413 rather than a reset connection.
      const huge = await fetch(`${t.url}/admin/invites`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-medusa-access-token': t.admin.apiToken }, body: 'x'.repeat(8 * 1024 * 1024) });
      expect(huge.status).toBe(413);
      expect(await huge.json()).toMatchObject({ code: 'payload_too_large' });
    });

    it('unknown admin routes → 404 not_found JSON', async () => {
      expectMedusaError(await admin('/admin/nothing-here'), 404, 'not_found');
    });
  });

  describe('inviting', () => {
    it('inviting an existing member → 400 invalid_data, also in another case', async () => {
      const jane = await t.createMember('member', fresh('jane'));
      await settled(t.services);
      const before = await snapshot(t.services);
      for (const user of [jane.member.email, jane.member.email.toUpperCase(), `Jane <${jane.member.email.replace(/^j/, 'J')}>`]) {
        const res = await admin('/admin/invites', { body: { user, role: 'member' } });
        expectMedusaError(res, 400, 'invalid_data');
        expect(res.json.code).toBe('already_member');
      }
      expect(await snapshot(t.services)).toEqual(before);
    });

    it('stores the address lower-cased and shows Medusa field names', async () => {
      const email = fresh('Mixed.Case');
      const res = await admin('/admin/invites', { body: { user: email.toUpperCase(), role: 'developer' } });
      expect(res.status).toBe(200);
      expect(res.text).toBe('OK');
      const row = await t.invitation(email);
      expect(row.email).toBe(email.toLowerCase());
      expect(row.role).toBe('developer');
    });

    it('an admin whose first and last name together pass 200 characters invites as anyone would; their name is shortened where it is stored', async () => {
      const long = await t.services.members.create({ email: fresh('long-name'), role: 'admin', firstName: 'A'.repeat(150), lastName: 'B'.repeat(100), withApiToken: true }, OPERATOR);
      const email = fresh('from-long');
      const res = await request(t.url, '/admin/invites', { apiToken: long.apiToken, body: { user: email, role: 'member' } });
      expect(res.status, res.text).toBe(200);
      const name = (await t.invitation(email)).invited_by_name as string;
      expect(name).toHaveLength(200);
      expect(name).toBe(`${'A'.repeat(150)} ${'B'.repeat(48)}…`);
    });

    it('re-POST of a live invitation with another role: role updated, the same link sent again', async () => {
      const email = fresh('repost');
      const first = await invite(email, 'member');
      const mail1 = await linkFromEmail(t.smtp, email, 1);
      await emailed(t.smtp, t.services.db, email, 1);
      clock.advance(DAY);
      const res = await admin('/admin/invites', { body: { user: email, role: 'developer' } });
      expect(res.status).toBe(200);
      const second = await t.invitation(email);
      expect(second.id).toBe(first.id);
      expect(second.role).toBe('developer');
      expect(second.token_hash).toBe(first.token_hash);
      expect(Number(second.send_count)).toBe(2);
      // Resending extends the expiry to now + TTL (the rule "Resend").
      expect(Number(second.expires_at)).toBe(clock.now() + TTL);
      const outbox = await t.services.db('outbox').where({ invitation_id: first.id });
      expect(outbox).toHaveLength(2);
      const mail2 = await linkFromEmail(t.smtp, email, 2);
      expect(mail2.token).toBe(mail1.token);
      expect(await tokenOf(email)).toBe(mail1.token);
      const page = await request(t.url, `/invite?token=${mail1.token}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('as <strong>Developer</strong>');
      const audit = await t.services.db('audit_log').where({ subject_id: first.id }).orderBy('id').pluck('action');
      expect(audit).toEqual(['invite', 'role_change', 'resend']);
    });

    it('a message is at most 500 characters, counted as people count them (an emoji is one), and over it says so', async () => {
      const emoji = await admin('/admin/invites', { body: { user: fresh('msg-emoji'), role: 'member', message: '🎉'.repeat(500) } });
      expect(emoji.status, emoji.text).toBe(200);
      for (const length of [501, 2_001]) {
        const long = await admin('/admin/invites', { body: { user: fresh(`msg-long-${length}`), role: 'member', message: 'x'.repeat(length) } });
        expectMedusaError(long, 400, 'invalid_data');
        expect(long.text).toContain('at most 500 characters');
      }
    });

    it('re-POST of a live invitation with an expiry and a message: both apply to the resent link; a re-POST without them keeps them', async () => {
      const email = fresh('repost-choices');
      const first = await invite(email, 'member');
      await emailed(t.smtp, t.services.db, email, 1);
      clock.advance(DAY);
      const res = await admin('/admin/invites', { body: { user: email, role: 'member', expires_in_days: 30, message: 'Welcome aboard!' } });
      expect(res.status, res.text).toBe(200);
      const second = await t.invitation(email);
      expect(second.id).toBe(first.id);
      expect(Number(second.expires_at)).toBe(clock.now() + 30 * DAY);
      expect(second.message).toBe('Welcome aboard!');
      await linkFromEmail(t.smtp, email, 2);
      expect(t.smtp.to(email)[1]!.text).toContain('Welcome aboard!');
      clock.advance(DAY);
      expect((await admin('/admin/invites', { body: { user: email, role: 'member' } })).status).toBe(200);
      const third = await t.invitation(email);
      expect(Number(third.expires_at)).toBe(clock.now() + 30 * DAY);
      expect(third.message).toBe('Welcome aboard!');
      // Raised to admin, the invitation is held for approval: the choices are held with it.
      expect((await admin('/admin/invites', { body: { user: email, role: 'admin', expires_in_days: 14, message: 'Held too' } })).status).toBe(200);
      expect(await t.invitation(email)).toMatchObject({ status: 'awaiting', role: 'admin', message: 'Held too' });
      expect(Number((await t.invitation(email)).ttl_ms)).toBe(14 * DAY);
    });

    it('resend of an expired invitation issues a new token and kills the old one', async () => {
      const email = fresh('expired');
      const first = await invite(email);
      const old = await linkFromEmail(t.smtp, email, 1);
      clock.advance(TTL + 1000);
      expect((await request(t.url, `/invite?token=${old.token}`)).status).toBe(410);

      const res = await admin(`/admin/invites/${first.id}/resend`, { body: {} });
      expect(res.status, res.text).toBe(200);
      const renewed = await linkFromEmail(t.smtp, email, 2);
      expect(renewed.token).not.toBe(old.token);
      const row = await t.invitation(email);
      expect(row.id).toBe(first.id);
      expect(Number(row.expires_at)).toBe(clock.now() + TTL);

      // The old email's link says it was replaced by the newer one, not that it is not valid.
      const page = await request(t.url, `/invite?token=${old.token}`);
      expect(page.status).toBe(410);
      expect(page.text).toContain('This link was replaced');
      expect(page.text).toContain('Open the link in the most recent invitation email.');
      const dead = await accept(old.token);
      expectMedusaError(dead, 400, 'invalid_data');
      expect(dead.json.code).toBe('link_replaced');
      expect((await request(t.url, `/invite?token=${renewed.token}`)).status).toBe(200);
      // Once the newer link is used, the old one says what became of the invitation.
      expect((await accept(renewed.token)).status).toBe(200);
      const used = await request(t.url, `/invite?token=${old.token}`);
      expect([used.status, used.text.includes('This invitation was already used')]).toEqual([409, true]);
    });

    it('resend of an unknown invitation → 404; of an accepted or revoked one → 400 with its reason', async () => {
      expectMedusaError(await admin('/admin/invites/invite_01NOTTHERE/resend', { body: {} }), 404, 'not_found');
      expectMedusaError(await admin('/admin/invites/../users/resend', { body: {} }), 404, 'not_found');
      const email = fresh('revoked-resend');
      const row = await invite(email);
      expect((await admin(`/admin/invites/${row.id}`, { method: 'DELETE' })).status).toBe(200);
      const res = await admin(`/admin/invites/${row.id}/resend`, { body: {} });
      expect(res.status).toBe(400);
      expect(res.json.code).toBe('invite_revoked');
    });

    it('an id holding a NUL (which PostgreSQL refuses in text) is an unknown one: 404, never 500', async () => {
      expectMedusaError(await admin('/admin/invites/%00/resend', { body: {} }), 404, 'not_found');
      expectMedusaError(await admin('/admin/invites/invite_01%00', { method: 'DELETE' }), 404, 'not_found');
      expectMedusaError(await admin('/admin/users/%00'), 404, 'not_found');
      expectMedusaError(await admin('/admin/users/usr_01%00'), 404, 'not_found');
    });
  });

  describe('deleting', () => {
    it('DELETE twice → 200 both times; the link stops working at once; unknown id → 404 not_found', async () => {
      const email = fresh('revoke');
      const row = await invite(email);
      const token = await tokenOf(email);
      for (let i = 0; i < 2; i++) {
        const res = await admin(`/admin/invites/${row.id}`, { method: 'DELETE' });
        expect(res.status).toBe(200);
        expect(res.json).toEqual({ id: row.id, object: 'invite', deleted: true });
      }
      expect((await t.invitation(email)).status).toBe('revoked');
      const audit = await t.services.db('audit_log').where({ subject_id: row.id, action: 'revoke' });
      expect(audit).toHaveLength(1);
      expect((await request(t.url, `/invite?token=${token}`)).status).toBe(410);
      expectMedusaError(await admin('/admin/invites/invite_01NOTTHERE', { method: 'DELETE' }), 404, 'not_found');
      expectMedusaError(await admin(`/admin/invites/${encodeURIComponent("x' OR 1=1 --")}`, { method: 'DELETE' }), 404, 'not_found');
    });

    it('a bodiless DELETE or resend that says it is JSON, as fetch and curl send them, is taken; one that says it is a form is not', async () => {
      const row = await invite(fresh('bodiless'));
      // fetch sends no Content-Length for a DELETE without a body.
      const deleted = await fetch(`${t.url}/admin/invites/${row.id}`, { method: 'DELETE', headers: { 'content-type': 'application/json', 'x-medusa-access-token': t.admin.apiToken } });
      expect(deleted.status).toBe(200);
      expect((await t.invitation(row.email)).status).toBe('revoked');
      // node:http (as curl -X POST) with no body and no Content-Length.
      const other = await invite(fresh('bodiless'));
      const post = (type: string) =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest(`${t.url}/admin/invites/${other.id}/resend`, { method: 'POST', headers: { 'content-type': type, 'x-medusa-access-token': t.admin.apiToken } }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.end();
        });
      const sends = Number(other.send_count);
      expect(await post('application/json; charset=utf-8')).toBe(200);
      expect(Number((await t.invitation(other.email)).send_count)).toBe(sends + 1);
      expect(await post('application/x-www-form-urlencoded')).toBe(415);
      expect(Number((await t.invitation(other.email)).send_count)).toBe(sends + 1);
    });

    it('DELETE of an accepted invitation is refused: 400 not_allowed, nothing changes', async () => {
      const email = fresh('accepted');
      const row = await invite(email);
      expect((await accept(await tokenOf(email))).status).toBe(200);
      await settled(t.services);
      const before = await snapshot(t.services);
      const res = await admin(`/admin/invites/${row.id}`, { method: 'DELETE' });
      expectMedusaError(res, 400, 'not_allowed');
      expect(res.json.code).toBe('invite_accepted');
      expect(await snapshot(t.services)).toEqual(before);
    });
  });

  describe('accepting', () => {
    it('unknown, expired, revoked and used tokens → 400 each with its own code; nothing changes', async () => {
      const expiredEmail = fresh('acc-expired');
      await invite(expiredEmail);
      const expiredToken = await tokenOf(expiredEmail);
      clock.advance(TTL + 1000);

      const revokedEmail = fresh('acc-revoked');
      const revoked = await invite(revokedEmail);
      const revokedToken = await tokenOf(revokedEmail);
      await admin(`/admin/invites/${revoked.id}`, { method: 'DELETE' });

      const usedEmail = fresh('acc-used');
      await invite(usedEmail);
      const usedToken = await tokenOf(usedEmail);
      expect((await accept(usedToken)).status).toBe(200);
      await settled(t.services);

      const before = await snapshot(t.services);
      const cases: Array<[string, string]> = [
        ['A'.repeat(43), 'unknown_token'],
        ['short', 'unknown_token'],
        [expiredToken, 'invite_expired'],
        [revokedToken, 'invite_revoked'],
        [usedToken, 'invite_accepted'],
      ];
      for (const [token, code] of cases) {
        const res = await accept(token, 'another good password');
        expect(res.status, `${code}: ${res.text}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.json.type).toMatch(/invalid_data|not_allowed/);
        expect(res.json.code).toBe(code);
      }
      // A weak password is refused before anything else.
      const weakEmail = fresh('acc-weak');
      await invite(weakEmail);
      await settled(t.services);
      const snapshotWeak = await snapshot(t.services);
      const weak = await accept(await tokenOf(weakEmail), 'short');
      expectMedusaError(weak, 400, 'invalid_data');
      expect(weak.json.code).toBe('weak_password');
      expect(await snapshot(t.services)).toEqual(snapshotWeak);
      expect(before.members).toEqual(snapshotWeak.members);
    });

    it('an expired or revoked link sent with a weak password or no name → the link\'s own answer, at the API and on the page; nothing changes', async () => {
      const expiredEmail = fresh('weak-expired');
      await invite(expiredEmail);
      const expiredToken = await tokenOf(expiredEmail);
      clock.advance(TTL + 1000);
      const revokedEmail = fresh('weak-revoked');
      const revoked = await invite(revokedEmail);
      const revokedToken = await tokenOf(revokedEmail);
      expect((await admin(`/admin/invites/${revoked.id}`, { method: 'DELETE' })).status).toBe(200);
      await settled(t.services);
      const before = await snapshot(t.services);
      const cases: Array<[string, string, string]> = [
        [expiredToken, 'invite_expired', 'This invitation has expired'],
        [revokedToken, 'invite_revoked', 'This invitation was withdrawn'],
      ];
      for (const [token, code, title] of cases) {
        const weak = await accept(token, 'short');
        expect([weak.status, weak.json.code], weak.text).toEqual([400, code]);
        const nameless = await request(t.url, '/admin/invites/accept', { body: { token, user: { password: 'short' } } });
        expect([nameless.status, nameless.json.code], nameless.text).toEqual([400, code]);
        const page = await postForm(t.url, '/invite', { token, first_name: '', last_name: '', password: 'short', confirm_password: 'other' });
        expect(page.status).toBe(410);
        expect(page.text).toContain(title);
      }
      // A link nobody holds is answered as any unknown link is, whatever else was sent (and counted as a guess).
      const unknown = await accept('A'.repeat(43), 'short');
      expect([unknown.status, unknown.json.code]).toEqual([400, 'unknown_token']);
      expect(await snapshot(t.services)).toEqual(before);
    });

    it('a name holding a control character (NUL…) → 400 naming the field, at the API and on the page; nothing changes', async () => {
      const email = fresh('nul');
      await invite(email);
      const token = await tokenOf(email);
      await settled(t.services);
      const before = await snapshot(t.services);
      // A right-to-left override would reverse the address shown after the name in Slack.
      for (const user of [{ first_name: 'Ja\u0000ne', last_name: 'Doe' }, { first_name: 'Jane', last_name: 'D\u001boe' }, { first_name: 'Jane', last_name: 'Doe\u202Emoc.evil' }, { first_name: '\u2066Jane', last_name: 'Doe' }]) {
        const res = await request(t.url, '/admin/invites/accept', { body: { token, user: { ...user, password: PASSWORD } } });
        expectMedusaError(res, 400, 'invalid_data');
        expect(res.json.message).toMatch(/(first|last)_name must not contain control characters/);
      }
      const page = await postForm(t.url, '/invite', { token, first_name: 'Ja\u0000ne', last_name: 'Doe', password: PASSWORD, confirm_password: PASSWORD });
      expect(page.status).toBe(422);
      expect(page.text).toContain('Remove the invisible control characters from your name.');
      expect(await snapshot(t.services)).toEqual(before);
      // Tabs and line breaks are only spacing; a zero-width non-joiner, which Persian names need, is kept.
      expect((await request(t.url, '/admin/invites/accept', { body: { token, user: { first_name: 'Jane\tMarie', last_name: 'Doe\u200Cman\n', password: PASSWORD } } })).status).toBe(200);
      expect(await t.services.db('members').where({ email }).first()).toMatchObject({ first_name: 'Jane Marie', last_name: 'Doe\u200Cman' });
    });

    it('20 concurrent accepts of one token → exactly one 200 and one member', async () => {
      const email = fresh('race');
      const row = await invite(email, 'developer');
      const token = await tokenOf(email);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => accept(token, `racing password ${i}`)));
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200)) {
        expect(a.status, a.text).toBe(400);
        expect(['invite_accepted', 'already_member']).toContain(a.json.code);
      }
      const members = await t.services.db('members').where({ email });
      expect(members).toHaveLength(1);
      expect(members[0].role).toBe('developer');
      const after = await t.invitation(email);
      expect(after.status).toBe('accepted');
      expect(after.accepted_member_id).toBe(members[0].id);
      expect(await t.services.db('audit_log').where({ subject_id: row.id, action: 'accept' })).toHaveLength(1);
      // The winner's password is the one that signs in.
      const winner = statuses.indexOf(200);
      expect((await request(t.url, '/admin/auth/token', { body: { email, password: `racing password ${winner}` } })).status).toBe(200);
    });

    it('a token planted in the database without APP_SECRET opens nothing', async () => {
      const email = fresh('planted');
      const row = await invite(email);
      const planted = 'P'.repeat(43);
      await t.services.db('invitations').where({ id: row.id }).update({ token_hash: createHash('sha256').update(planted).digest('hex') });
      expect((await request(t.url, `/invite?token=${planted}`)).status).toBe(404);
      expect((await accept(planted)).status).toBe(400);
      expect((await t.invitation(email)).status).toBe('pending');
    });
  });

  describe('the accept page', () => {
    it('sends privacy and framing headers', async () => {
      const email = fresh('headers');
      await invite(email);
      const token = await tokenOf(email);
      for (const pathname of [`/invite?token=${token}`, '/invite?token=nope', '/invite']) {
        const res = await request(t.url, pathname);
        expect(res.headers.get('content-type')).toMatch(/text\/html/);
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
        expect(res.headers.get('x-robots-tag')).toMatch(/noindex/);
        expect(res.headers.get('cache-control')).toMatch(/no-store/);
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).toMatch(/frame-ancestors 'none'/);
        const script = /script-src ([^;]*)/.exec(csp)?.[1] ?? /default-src ([^;]*)/.exec(csp)?.[1] ?? '';
        expect(script).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
        expect(csp).not.toMatch(/unsafe-inline/);
        expect(res.text).toMatch(/<meta name="robots" content="noindex/);
        // No inline script in the page (the CSP would block it anyway).
        expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      }
    });

    it('GET /invite changes nothing: the row, the audit log and the outbox stay as they were', async () => {
      const email = fresh('look');
      await invite(email);
      const token = await tokenOf(email);
      await linkFromEmail(t.smtp, email, 1);
      await settled(t.services);
      const before = await snapshot(t.services);
      for (let i = 0; i < 3; i++) expect((await request(t.url, `/invite?token=${token}`)).status).toBe(200);
      await request(t.url, `/invite?token=${token}`, { method: 'HEAD' });
      expect(await snapshot(t.services)).toEqual(before);
    });

    it('unknown, revoked, used, expired and missing tokens each get their own page and status', async () => {
      const revokedEmail = fresh('page-revoked');
      const revoked = await invite(revokedEmail);
      const revokedToken = await tokenOf(revokedEmail);
      await admin(`/admin/invites/${revoked.id}`, { method: 'DELETE' });
      const usedEmail = fresh('page-used');
      await invite(usedEmail);
      const usedToken = await tokenOf(usedEmail);
      expect((await accept(usedToken)).status).toBe(200);
      const expiredEmail = fresh('page-expired');
      await invite(expiredEmail);
      const expiredToken = await tokenOf(expiredEmail);
      clock.advance(TTL + 1000);
      await settled(t.services);

      const before = await snapshot(t.services);
      const cases: Array<[string, number, RegExp]> = [
        [`/invite?token=${'Z'.repeat(43)}`, 404, /link does not work/],
        ['/invite?token=%3Cscript%3E', 404, /link does not work/],
        [`/invite?token=${revokedToken}`, 410, /withdrawn.*ask Ada Lovelace or an admin of Acme/s],
        [`/invite?token=${usedToken}`, 409, /already used/],
        [`/invite?token=${expiredToken}`, 410, /expired.*Ask Ada Lovelace/s],
        ['/invite', 400, /incomplete/],
        ['/invite?token=', 400, /incomplete/],
      ];
      const titles = new Set<string>();
      for (const [pathname, status, words] of cases) {
        const res = await request(t.url, pathname);
        expect(res.status, pathname).toBe(status);
        expect(res.text).toMatch(words);
        expect(res.text).not.toContain('<script>');
        titles.add(/<h1>([^<]*)<\/h1>/.exec(res.text)?.[1] ?? '');
      }
      expect(titles.size).toBe(5); // unknown and missing tokens twice each
      expect(await snapshot(t.services)).toEqual(before);
    });

    it('a form post the parser refuses gets a readable page, never a stack trace', async () => {
      const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, 'x']));
      for (const fields of [{ token: 'x', first_name: 'a'.repeat(70_000) }, many]) {
        const res = await postForm(t.url, '/invite', fields);
        expect(res.status).toBe(413);
        expect(res.headers.get('content-type')).toMatch(/text\/html/);
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
        expect(res.text).toMatch(/<h1>This form could not be read<\/h1>/);
        expect(res.text).not.toMatch(/node_modules|Error:|at \w+ \(/);
      }
    });

    it('the longest password in any script is taken by the form (1,024 characters, 9 bytes each once encoded)', async () => {
      const email = fresh('longpw');
      await invite(email);
      const token = await tokenOf(email);
      const password = '密'.repeat(1024);
      const res = await postForm(t.url, '/invite', { token, first_name: 'Li', last_name: 'Wei', password, confirm_password: password });
      expect(res.status, res.text.slice(0, 300)).toBe(303);
      const signIn = await request(t.url, '/admin/auth/token', { body: { email, password } });
      expect(signIn.status).toBe(200);
    });

    it('the form post without JavaScript: 422 with the problems marked, then success', async () => {
      const email = fresh('nojs');
      await invite(email);
      const token = await tokenOf(email);
      await settled(t.services);
      const before = await snapshot(t.services);
      const bad = await postForm(t.url, '/invite', { token, first_name: 'Grace', last_name: '', password: 'short', confirm_password: 'other' });
      expect(bad.status).toBe(422);
      expect(bad.text).toContain('Enter your last name.');
      expect(bad.text).toContain('Use at least 8 characters.');
      expect(bad.text).toContain('The passwords do not match.');
      expect(bad.text).toContain('value="Grace"');
      expect(await snapshot(t.services)).toEqual(before);

      const good = await postForm(t.url, '/invite', { token, first_name: 'Grace', last_name: 'Hopper', password: PASSWORD, confirm_password: PASSWORD });
      // Post/Redirect/Get: the welcome is a page of its own, the same on every reload.
      expect([good.status, good.headers.get('location')]).toEqual([303, `/invite/welcome?token=${token}`]);
      for (let i = 0; i < 2; i++) {
        const welcome = await request(t.url, `/invite/welcome?token=${token}`);
        expect([welcome.status, welcome.headers.get('cache-control')]).toEqual([200, 'no-store']);
        expect(welcome.text).toMatch(/Welcome to Acme/);
        expect(welcome.text).toContain(email);
        // No SIGN_IN_URL here: the page says whom to ask where to sign in instead of ending there.
        expect(welcome.text).toContain('Not sure where to sign in? Ask whoever invited you, or an admin of Acme.');
      }
      // Sent twice (no script, a double click): the second answer names the account and its moment.
      const again = await postForm(t.url, '/invite', { token, first_name: 'Grace', last_name: 'Hopper', password: PASSWORD, confirm_password: PASSWORD });
      expect(again.status).toBe(409);
      expect(again.text).toContain(`The account for ${email} at Acme was set up with it on `);
    });

    it('the welcome of a link nobody accepted yet leads to its form; of a dead link, says why', async () => {
      const email = fresh('early');
      await invite(email);
      const token = await tokenOf(email);
      const early = await request(t.url, `/invite/welcome?token=${token}`);
      expect([early.status, early.headers.get('location')]).toEqual([303, `/invite?token=${token}`]);
      await request(t.url, `/admin/invites/${(await t.invitation(email)).id}`, { method: 'DELETE', apiToken: t.admin.apiToken });
      const dead = await request(t.url, `/invite/welcome?token=${token}`);
      expect(dead.status).toBe(410);
      expect(dead.text).toContain('This invitation was withdrawn');
      expect((await request(t.url, '/invite/welcome?token=nope')).status).toBe(404);
    });

    it('a link copied with the punctuation around it still opens the form', async () => {
      const email = fresh('punct');
      await invite(email);
      const token = await tokenOf(email);
      for (const tail of ['.', ')', '>', '%E2%80%9D', '.)']) {
        const page = await request(t.url, `/invite?token=${token}${tail}`);
        expect(page.status, tail).toBe(200);
        expect(page.text).toContain(`name="token" value="${token}"`);
      }
    });

    it('a crafted link of punctuation costs no CPU to trim: eight at once are answered at once, as an unknown link', async () => {
      // A trailing-punctuation trim anchored at the end backtracked over such a run: ~0.3 s of the one thread each.
      const crafted = `/invite?token=${'.'.repeat(16_000)}a`;
      const started = performance.now();
      const pages = await Promise.all(Array.from({ length: 8 }, () => request(t.url, crafted)));
      const took = performance.now() - started;
      expect(took).toBeLessThan(1_000);
      expect(pages.map((p) => p.status)).toEqual(Array(8).fill(404));
    });

    it('an address that became a member meanwhile is told so when the link opens, before the form', async () => {
      const email = fresh('became');
      await invite(email);
      const token = await tokenOf(email);
      await t.services.members.create({ email, role: 'member', firstName: 'Al', lastName: 'Ready' }, OPERATOR);
      const page = await request(t.url, `/invite?token=${token}`);
      expect(page.status).toBe(409);
      expect(page.text).toContain('You are already a member');
      expect(page.text).toContain(`There is already an account for ${email} at Acme.`);
      expect(page.text).toContain('if you forgot the password, ask an admin of Acme');
      expect(page.text).not.toContain('accept-form');
    });

    it('a used link whose account was deactivated since says so, on the link and the welcome page, not "sign in"', async () => {
      const email = fresh('gone');
      await invite(email);
      const token = await tokenOf(email);
      const accepted = await postForm(t.url, '/invite', { token, first_name: 'Gone', last_name: 'Soon', password: PASSWORD, confirm_password: PASSWORD });
      expect(accepted.status).toBe(303);
      const member = (await t.services.members.findByEmail(email))!;
      expect((await request(t.url, `/invite?token=${token}`)).text).toContain('sign in with that email');
      await t.services.members.deactivate(member.id, OPERATOR);
      for (const path of [`/invite?token=${token}`, `/invite/welcome?token=${token}`]) {
        const page = await request(t.url, path);
        expect(page.status, path).toBe(410);
        expect(page.text).toContain('This account was deactivated');
        expect(page.text).toContain(`The account for ${email} at Acme that this invitation set up has been deactivated`);
        expect(page.text).not.toContain('Your account is ready');
      }
    });

    it('names are checked whole (never cut) and stored in one Unicode form', async () => {
      const email = fresh('names');
      await invite(email);
      const token = await tokenOf(email);
      const long = 'é'.repeat(201);
      const bad = await postForm(t.url, '/invite', { token, first_name: long, last_name: 'Doe', password: PASSWORD, confirm_password: PASSWORD });
      expect(bad.status).toBe(422);
      expect(bad.text).toContain('Use at most 200 characters.');
      expect(bad.text).toContain(`value="${long}"`);
      // "Zoë" typed as "o" + a combining diaeresis (decomposed) is stored as one character.
      const ok = await postForm(t.url, '/invite', { token, first_name: 'Zoe\u0308', last_name: 'Doe', password: PASSWORD, confirm_password: PASSWORD });
      expect(ok.status).toBe(303);
      expect((await t.services.db('members').where({ email }).first()).first_name).toBe('Zo\u00eb');
    });

    it('a password is the same however its accents were typed, and counted in characters', async () => {
      const email = fresh('unicode-pw');
      await invite(email);
      const token = await tokenOf(email);
      // Four emoji are eight UTF-16 units but four characters: too short.
      const emoji = await postForm(t.url, '/invite', { token, first_name: 'Pat', last_name: 'Doe', password: '😀😀😀😀', confirm_password: '😀😀😀😀' });
      expect(emoji.status).toBe(422);
      expect(emoji.text).toContain('Use at least 8 characters.');
      const composed = 'pässwörd-ünïcode';
      const decomposed = composed.normalize('NFD');
      expect(decomposed).not.toBe(composed);
      expect((await postForm(t.url, '/invite', { token, first_name: 'Pat', last_name: 'Doe', password: decomposed, confirm_password: decomposed })).status).toBe(303);
      // Hashed as typed: the organization's product, which checks the hash against what its user
      // types (as Medusa does, without normalizing), takes it too.
      const { password_hash: hash } = await t.services.db('members').where({ email }).first();
      expect(await Scrypt.verify(Buffer.from(hash, 'base64'), decomposed)).toBe(true);
      for (const password of [composed, decomposed]) expect((await request(t.url, '/admin/auth/token', { body: { email, password } })).status, password).toBe(200);
      expect((await request(t.url, '/admin/auth/token', { body: { email, password: 'passwörd-ünïcode' } })).status).toBe(401);
    });

    it('a hash made of a password as typed (the CLI, an import) signs in with it as typed', async () => {
      const email = fresh('legacy-pw');
      const typed = 'crème-brûlée-1'.normalize('NFD');
      const { member } = await t.createMember('member', email);
      const hash = Buffer.from(await Scrypt.kdf(typed, SCRYPT_PARAMS)).toString('base64');
      await t.services.db('members').where({ id: member.id }).update({ password_hash: hash });
      expect((await request(t.url, '/admin/auth/token', { body: { email, password: typed } })).status).toBe(200);
    });

    it('a link whose address became a member meanwhile is refused before any password is hashed', async () => {
      const email = fresh('joined-meanwhile');
      await invite(email);
      const token = await tokenOf(email);
      await t.createMember('member', email);
      // With every hashing slot and the queue busy, the answer can only come before a hash.
      const filling = Array.from({ length: hashingLoad().slots + MAX_WAITING_HASHES }, (_, i) => hashPassword(`filler password ${i}`));
      const res = await request(t.url, '/admin/invites/accept', { body: { token, user: { first_name: 'Jo', last_name: 'In', password: PASSWORD } } });
      await Promise.all(filling);
      expectMedusaError(res, 400, 'invalid_data');
      expect(res.json.code).toBe('already_member');
    });

    it('too busy hashing: the form comes back with the names kept, 503 with Retry-After, nothing changed', async () => {
      const email = fresh('busy');
      await invite(email);
      const token = await tokenOf(email);
      await settled(t.services);
      const before = await snapshot(t.services);
      // Fill every hashing slot and the queue of passwords being set.
      const load = hashingLoad();
      const filling = Array.from({ length: load.slots + MAX_WAITING_HASHES }, (_, i) => hashPassword(`filler password ${i}`));
      const busy = await postForm(t.url, '/invite', { token, first_name: 'Bu', last_name: 'Sy', password: PASSWORD, confirm_password: PASSWORD });
      await Promise.all(filling);
      expect([busy.status, busy.headers.get('retry-after')]).toEqual([503, '1']);
      expect(busy.text).toContain('accept-form');
      expect(busy.text).toContain('value="Bu"');
      expect(busy.text).toContain('send the form in a few seconds');
      expect(busy.text).toContain('Enter your password again (it is not kept when the form comes back).');
      expect(await snapshot(t.services)).toEqual(before);
    });
  });
});

describe('SIGN_IN_URL on the invitee\'s pages', () => {
  it('the welcome, a used link and an existing member link to it; without it, no link', async () => {
    const t = await startTestApp('sqlite', { env: { SIGN_IN_URL: 'https://app.acme.test/login?from=doorman&x=1' } });
    try {
      const link = '<a class="button" href="https://app.acme.test/login?from=doorman&amp;x=1">Sign in</a>';
      await t.services.invites.inviteMany({ emails: 'signs-in@example.test', actor: OPERATOR });
      const { token } = await linkFromEmail(t.smtp, 'signs-in@example.test');
      expect((await request(t.url, `/invite?token=${token}`)).text).not.toContain(link);
      const fields = { token, first_name: 'Sig', last_name: 'Nin', password: PASSWORD, confirm_password: PASSWORD };
      expect((await postForm(t.url, '/invite', fields)).status).toBe(303);
      expect((await request(t.url, `/invite/welcome?token=${token}`)).text).toContain(link);
      expect((await postForm(t.url, '/invite', fields)).text).toContain(link);
    } finally {
      await t.close();
    }
    const plain = await startTestApp('sqlite');
    try {
      await plain.services.invites.inviteMany({ emails: 'no-link@example.test', actor: OPERATOR });
      const { token } = await linkFromEmail(plain.smtp, 'no-link@example.test');
      await postForm(plain.url, '/invite', { token, first_name: 'No', last_name: 'Link', password: PASSWORD, confirm_password: PASSWORD });
      expect((await request(plain.url, `/invite/welcome?token=${token}`)).text).not.toContain('class="button"');
    } finally {
      await plain.close();
    }
  });
});

describe('session cookies behind an https PUBLIC_URL', () => {
  it('are Secure and __Host-, however the scheme is written (HTTPS://…)', async () => {
    const t = await startTestApp('sqlite', { env: { PUBLIC_URL: 'HTTPS://doorman.example' } });
    try {
      const res = await request(t.url, '/admin/auth', { body: { email: t.admin.email, password: t.admin.password } });
      expect(res.status).toBe(200);
      const cookie = res.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/;\s*Secure/i);
      // A __Host- cookie (host-only, Path=/), which no sibling subdomain can set.
      expect(cookie).toMatch(/^__Host-doorman\.sid=[^;]+/);
      expect(cookie).toMatch(/;\s*Path=\/(;|$)/);
      expect(cookie).not.toMatch(/Domain=/i);
      // The cookie signs the next request in (as a browser on https would send it back).
      const me = await request(t.url, '/admin/auth', { cookie: /^[^;]+/.exec(cookie)![0] });
      expect(me.status).toBe(200);
      expect(me.json.user.email).toBe(t.admin.email);
      // Sign-out deletes it with the attributes a browser needs to accept the deletion of a __Host- cookie.
      const out = await request(t.url, '/admin/auth', { method: 'DELETE', cookie: /^[^;]+/.exec(cookie)![0], headers: { origin: 'https://doorman.example' } });
      expect(out.status).toBe(200);
      const cleared = out.headers.get('set-cookie') ?? '';
      expect(cleared).toMatch(/^__Host-doorman\.sid=;/);
      expect(cleared).toMatch(/;\s*Secure/i);
      expect(cleared).toMatch(/;\s*Path=\/(;|$)/);
    } finally {
      await t.close();
    }
  });
});
