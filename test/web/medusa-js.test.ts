import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { linkFromEmail, request, startTestApp, type TestApp } from '../support/http.js';
import { emailed } from '../support/mail.js';

// medusa-js ships CJS typings only; under NodeNext its default import is typed as the namespace.
const require = createRequire(import.meta.url);
const Medusa: typeof import('@medusajs/medusa-js').default = require('@medusajs/medusa-js').default;

type Client = InstanceType<typeof Medusa>;

const MEDUSA_INVITE_FIELDS = ['id', 'user_email', 'role', 'accepted', 'token', 'expires_at', 'created_at', 'updated_at', 'metadata'];
const PASSWORD = 'a long enough password';

/** The axios error medusa-js rejects with, as the caller sees it. */
async function failure(promise: Promise<unknown>): Promise<{ status: number; data: any }> {
  try {
    await promise;
  } catch (error) {
    const response = (error as { response?: { status: number; data: unknown } }).response;
    if (!response) throw error;
    return { status: response.status, data: response.data };
  }
  throw new Error('expected the call to fail');
}

/** A text `OK` reply comes back from medusa-js spread into characters. */
function expectOk(result: unknown): void {
  expect(result).toMatchObject({ 0: 'O', 1: 'K' });
  expect((result as { response: { status: number } }).response.status).toBe(200);
}

describe.each(DIALECTS)('@medusajs/medusa-js against the real server (%s)', (dialect) => {
  let t: TestApp;
  let client: Client;
  let anonymous: Client;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    client = new Medusa({ baseUrl: t.url, maxRetries: 0, apiKey: t.admin.apiToken });
    anonymous = new Medusa({ baseUrl: t.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the whole lifecycle: create, list, resend, accept, sign in, delete', async () => {
    const email = 'grace@example.test';
    expectOk(await client.admin.invites.create({ user: email, role: 'developer' } as any));

    const { invites, response } = await client.admin.invites.list();
    expect(response.status).toBe(200);
    const invite = invites.find((i: any) => i.user_email === email);
    expect(invite).toBeDefined();
    for (const field of MEDUSA_INVITE_FIELDS) expect(invite).toHaveProperty(field);
    expect(invite).toMatchObject({ id: expect.stringMatching(/^invite_[0-9A-Z]{26}$/), user_email: email, role: 'developer', accepted: false, metadata: null });
    for (const field of ['expires_at', 'created_at', 'updated_at']) expect(new Date(invite[field]).toISOString()).toBe(invite[field]);
    const mailed = await linkFromEmail(t.smtp, email, 1);
    expect(invite.token).toBe(mailed.token);
    await emailed(t.smtp, t.services.db, email, 1);

    // Resend: the same token keeps working, and a second email carries it.
    expectOk(await client.admin.invites.resend(invite.id));
    const again = await linkFromEmail(t.smtp, email, 2);
    expect(again.token).toBe(mailed.token);
    const relisted = (await client.admin.invites.list()).invites.find((i: any) => i.id === invite.id);
    expect(relisted.token).toBe(mailed.token);

    // Accept without authentication: the client sends no API key on this route.
    expectOk(await anonymous.admin.invites.accept({ token: mailed.token, user: { first_name: 'Grace', last_name: 'Hopper', password: PASSWORD } }));

    // The new member signs in: a bearer token from auth.getToken, sent by hand in Node.
    const { access_token } = await anonymous.admin.auth.getToken({ email, password: PASSWORD });
    expect(access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const asGrace = new Medusa({ baseUrl: t.url, maxRetries: 0, customHeaders: { Authorization: `Bearer ${access_token}` } });
    const session = await asGrace.admin.auth.getSession();
    expect(session.user).toMatchObject({ email, first_name: 'Grace', last_name: 'Hopper', role: 'developer' });
    expect(session.user).not.toHaveProperty('password_hash');
    // A developer cannot manage invitations.
    const refused = await failure(asGrace.admin.invites.list());
    expect(refused.status).toBe(403);
    expect(refused.data).toMatchObject({ type: 'not_allowed', message: expect.stringMatching(/Member: Manage/) });

    // Accepted invitations leave the default list (Medusa deletes them); ?status=all still has them.
    expect((await client.admin.invites.list()).invites.find((i: any) => i.id === invite.id)).toBeUndefined();
    const all = await request(t.url, '/admin/invites?status=all', { apiToken: t.admin.apiToken });
    expect(all.json.invites.find((i: any) => i.id === invite.id)).toMatchObject({ accepted: true, token: null });

    // Delete: an accepted invitation is refused; a pending one goes, twice is fine.
    const deleteAccepted = await failure(client.admin.invites.delete(invite.id));
    expect(deleteAccepted.status).toBe(400);
    expect(deleteAccepted.data).toMatchObject({ type: 'not_allowed', message: expect.any(String) });

    await client.admin.invites.create({ user: 'temp@example.test', role: 'member' } as any);
    const temp = (await client.admin.invites.list()).invites.find((i: any) => i.user_email === 'temp@example.test');
    const deleted = await client.admin.invites.delete(temp.id);
    expect({ id: deleted.id, object: deleted.object, deleted: deleted.deleted }).toEqual({ id: temp.id, object: 'invite', deleted: true });
    expect((await client.admin.invites.delete(temp.id)).deleted).toBe(true);
    expect((await client.admin.invites.list()).invites.find((i: any) => i.id === temp.id)).toBeUndefined();
    const dead = await failure(anonymous.admin.invites.accept({ token: temp.token, user: { first_name: 'Ann', last_name: 'Other', password: PASSWORD } }));
    expect(dead.status).toBe(400);
    expect(dead.data).toMatchObject({ type: 'invalid_data', code: 'invite_revoked' });
  });

  it('auth: apiKey, getToken then a bearer header, and the session', async () => {
    const me = await client.admin.auth.getSession();
    expect(me.user).toMatchObject({ id: t.admin.member.id, email: t.admin.email, role: 'admin' });

    const { access_token } = await anonymous.admin.auth.getToken({ email: t.admin.email, password: t.admin.password });
    const bearer = new Medusa({ baseUrl: t.url, maxRetries: 0, customHeaders: { Authorization: `Bearer ${access_token}` } });
    expect((await bearer.admin.invites.list()).response.status).toBe(200);

    const created = await anonymous.admin.auth.createSession({ email: t.admin.email, password: t.admin.password });
    expect(created.user).toMatchObject({ id: t.admin.member.id, email: t.admin.email });
    expect(String(created.response.headers['set-cookie'])).toMatch(/HttpOnly/i);
    // In Node, medusa-js keeps no cookies: the session does not authenticate later calls.
    expect((await failure(anonymous.admin.auth.getSession())).status).toBe(401);

    const wrong = await failure(anonymous.admin.auth.getToken({ email: t.admin.email, password: 'not the password' }));
    expect(wrong.status).toBe(401);
    expect(wrong.data).toMatchObject({ type: 'unauthorized', message: expect.any(String) });
    const badKey = new Medusa({ baseUrl: t.url, maxRetries: 0, apiKey: 'dm_wrong-key-000000000000000000000' });
    expect((await failure(badKey.admin.invites.list())).status).toBe(401);
    expect((await failure(anonymous.admin.users.list())).status).toBe(401);

    // deleteSession at the end of a script signed in by API key ends no one's session: the bearer
    // token (and any browser) of that member still works.
    expect((await client.admin.auth.deleteSession()).response.status).toBe(200);
    expect((await bearer.admin.invites.list()).response.status).toBe(200);
  });

  it('invites.list (no query, as medusa-js sends it) holds every open invitation, past any page size', async () => {
    const before = (await client.admin.invites.list()).invites.length;
    await t.services.invites.inviteMany({ emails: Array.from({ length: 620 }, (_, i) => `many${i}@bulk.test`), actor: { type: 'system' } });
    const { invites } = await client.admin.invites.list();
    expect(invites).toHaveLength(before + 620);
    expect(new Set(invites.map((i: any) => i.id)).size).toBe(before + 620);
    // Asked for a page, it is that page.
    expect((await request(t.url, '/admin/invites?limit=10', { apiToken: t.admin.apiToken })).json).toMatchObject({ limit: 10, count: before + 620 });
    for (const i of invites.filter((i: any) => i.user_email.endsWith('@bulk.test'))) await t.services.invites.revoke(i.id, { type: 'system' });
  });

  it('users.list: {users} without password hashes', async () => {
    const { users, response } = await client.admin.users.list();
    expect(response.status).toBe(200);
    expect(users.length).toBeGreaterThan(0);
    const ada = users.find((u: any) => u.email === t.admin.email);
    expect(ada).toMatchObject({ id: t.admin.member.id, first_name: 'Ada', last_name: 'Lovelace', role: 'admin' });
    for (const user of users) {
      expect(user).not.toHaveProperty('password_hash');
      expect(user).not.toHaveProperty('password');
      expect(user.api_token ?? null).toBeNull();
    }
  });

  it('users.retrieve: {user} by id, 404 not_found for an unknown one; the password reset medusa-js offers says Doorman has none', async () => {
    const { user, response } = await client.admin.users.retrieve(t.admin.member.id);
    expect(response.status).toBe(200);
    expect(user).toMatchObject({ id: t.admin.member.id, email: t.admin.email, role: 'admin', state: 'active', api_token: null });
    expect(user).not.toHaveProperty('password_hash');
    const unknown = await failure(client.admin.users.retrieve('usr_01NOSUCHMEMBER000000000000'));
    expect([unknown.status, unknown.data.type]).toEqual([404, 'not_found']);
    // Signed out, as medusa-js sends it: not "sign in first", and no failed sign-in counted.
    const reset = await failure(anonymous.admin.users.sendResetPasswordToken({ email: t.admin.email }));
    expect([reset.status, reset.data.type]).toEqual([404, 'not_found']);
    expect(reset.data.message).toMatch(/no password reset/);
  });

  it("users.list with Medusa's filters, order and field selection, as medusa-js writes them (nested query parameters)", async () => {
    const stamp = Date.now();
    const made = [];
    for (const [first, role] of [['Quill', 'developer'], ['Quinn', 'member'], ['Rhéa', 'member']] as const) {
      made.push((await t.services.members.create({ email: `${first.toLowerCase().replace('é', 'e')}.${stamp}@Filters.test`, firstName: first, lastName: 'Filterson', role }, { type: 'system' })).member);
    }
    const emails = async (query: Record<string, unknown>) => ((await client.admin.users.list(query as any)).users as any[]).map((u) => u.email);
    // q: part of the email or a name, in any case.
    expect(await emails({ q: 'QUI' })).toEqual(expect.arrayContaining([made[0]!.email, made[1]!.email]));
    expect(await emails({ q: 'filtersON', order: '-email' })).toEqual([made[2]!.email, made[1]!.email, made[0]!.email]);
    expect(await emails({ email: made[2]!.email.toUpperCase() })).toEqual([made[2]!.email]);
    expect(await emails({ q: 'filterson', role: 'member', order: 'email' })).toEqual([made[1]!.email, made[2]!.email]);
    expect(await emails({ id: [made[0]!.id, made[2]!.id], order: 'email' })).toEqual([made[0]!.email, made[2]!.email]);
    // Without an order, Medusa's: the newest first.
    expect(await emails({ q: 'filterson' })).toEqual(await emails({ q: 'filterson', order: '-created_at' }));
    expect(await emails({ q: 'filterson' })).not.toEqual(await emails({ q: 'filterson', order: 'created_at' }));
    expect(await emails({ first_name: 'Rhéa', last_name: 'Filterson' })).toEqual([made[2]!.email]);
    // A letter outside ASCII, as typed (SQLite folds only ASCII), and roles given as a list.
    expect(await emails({ q: 'Rhéa' })).toEqual([made[2]!.email]);
    expect(await emails({ q: 'filterson', role: ['developer', 'member'] })).toHaveLength(3);
    const since = new Date(made[0]!.createdAt - 1).toISOString();
    expect(await emails({ q: 'filterson', created_at: { gt: since } })).toHaveLength(3);
    expect(await emails({ q: 'filterson', created_at: { lt: since } })).toEqual([]);
    // Members are deactivated, never deleted.
    expect(await client.admin.users.list({ deleted_at: { gt: '2020-01-01T00:00:00Z' } } as any)).toMatchObject({ users: [], count: 0 });
    // A deactivated member is listed no more (as Medusa lists no deleted user), unless asked for.
    await t.services.members.deactivate(made[1]!.id, { type: 'system' });
    expect(await emails({ q: 'filterson', order: 'email' })).toEqual([made[0]!.email, made[2]!.email]);
    expect(await emails({ q: 'filterson', state: 'deactivated' })).toEqual([made[1]!.email]);
    const picked = await client.admin.users.list({ email: made[0]!.email, fields: 'email,role' } as any);
    expect(picked.users).toEqual([{ id: made[0]!.id, email: made[0]!.email, role: 'developer' }]);
    // A filter Doorman cannot apply says so; nothing is answered as if it were applied.
    expect((await failure(client.admin.users.list({ fields: 'email,password_hash' } as any))).data.message).toMatch(/fields\.1: unknown field/);
    expect((await failure(client.admin.users.list({ created_at: { gt: 'last tuesday' } } as any))).data.message).toMatch(/created_at\.gt: "last tuesday" is not a date/);
    // A day that does not exist is refused, not rolled over into the next month.
    expect((await failure(client.admin.users.list({ created_at: { lt: '2026-02-30' } } as any))).data.message).toMatch(/created_at\.lt: "2026-02-30" is not a date/);
    expect((await failure(client.admin.users.list({ order: 'password_hash' } as any))).status).toBe(400);
  });

  it('errors surface as axios errors with {type, message}', async () => {
    const existing = await failure(client.admin.invites.create({ user: t.admin.email, role: 'member' } as any));
    expect(existing.status).toBe(400);
    expect(existing.data).toMatchObject({ type: 'invalid_data', message: expect.any(String) });

    const badEmail = await failure(client.admin.invites.create({ user: 'nope', role: 'member' } as any));
    expect(badEmail.status).toBe(400);
    expect(badEmail.data.type).toBe('invalid_data');

    const badRole = await failure(client.admin.invites.create({ user: 'ok@example.test', role: 'owner' } as any));
    expect(badRole.status).toBe(400);
    expect(badRole.data.message).toMatch(/role/);

    const unknown = await failure(client.admin.invites.resend('invite_01NOSUCHINVITATION0000000'));
    expect(unknown.status).toBe(404);
    expect(unknown.data).toMatchObject({ type: 'not_found', message: expect.any(String) });

    const badToken = await failure(anonymous.admin.invites.accept({ token: 'A'.repeat(43), user: { first_name: 'Ann', last_name: 'Other', password: PASSWORD } }));
    expect(badToken.status).toBe(400);
    expect(badToken.data).toMatchObject({ type: 'invalid_data', code: 'unknown_token' });

    await client.admin.invites.create({ user: 'weak@example.test', role: 'member' } as any);
    const weakToken = (await client.admin.invites.list()).invites.find((i: any) => i.user_email === 'weak@example.test').token;
    const weak = await failure(anonymous.admin.invites.accept({ token: weakToken, user: { first_name: 'Ann', last_name: 'Other', password: 'short' } }));
    expect(weak.status).toBe(400);
    expect(weak.data).toMatchObject({ type: 'invalid_data', code: 'weak_password' });
  });
});
