import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyHashOf } from '../../src/web/idempotency.js';
import { DIALECTS } from '../support/db.js';
import { linkFromEmail, request, startTestApp, type TestApp } from '../support/http.js';

const require = createRequire(import.meta.url);
const Medusa: typeof import('@medusajs/medusa-js').default = require('@medusajs/medusa-js').default;
/** axios's own Node adapter, which medusa-js uses when given none. */
const httpAdapter = require('axios/lib/adapters/http') as (config: unknown) => Promise<unknown>;

const PASSWORD = 'a long enough password';

/**
 * The rule "Idempotency-Key": medusa-js, when it may retry, sends one key per POST and sends it
 * again on a retry after an answer was lost. The work is done once and the first answer given again.
 */
describe.each(DIALECTS)('Idempotency-Key (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });
  const admin = (pathname: string, body: unknown, key?: string) => request(t.url, pathname, { apiToken: t.admin.apiToken, body, headers: key ? { 'idempotency-key': key } : {} });
  const sendCount = async (email: string) => Number((await t.services.db('invitations').where({ email }).first('send_count')).send_count);

  it('an accept whose answer was lost, retried by medusa-js with its key, answers OK again and creates one member', async () => {
    const email = 'lost.answer@example.test';
    expect((await admin('/admin/invites', { user: email, role: 'member' })).status).toBe(200);
    const { token } = await linkFromEmail(t.smtp, email);
    let calls = 0;
    // The first answer is lost on the way back (the work was done): medusa-js retries with the same key.
    const losing = (config: unknown) => httpAdapter(config).then((answer) => {
      calls++;
      if (calls > 1) return answer;
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', config });
    });
    const client = new Medusa({ baseUrl: t.url, maxRetries: 2, axiosAdapter: losing } as never);
    const result = await client.admin.invites.accept({ token, user: { first_name: 'Lo', last_name: 'St', password: PASSWORD } });
    expect(calls).toBe(2);
    expect((result as unknown as { response: { status: number; headers: Record<string, string> } }).response).toMatchObject({ status: 200, headers: { 'idempotent-replayed': 'true' } });
    expect(await t.services.db('members').where({ email })).toHaveLength(1);
    // What is kept for the day holds nothing of the password: a fast hash of it would skip scrypt.
    const kept = await t.services.db('idempotency_keys').whereNotNull('status');
    const withoutPassword = createHash('sha256').update(JSON.stringify({ token, user: { first_name: 'Lo', last_name: 'St' } })).digest('hex');
    expect(kept.map((row) => row.fingerprint)).toContain(withoutPassword);
  });

  it('a create or resend sent twice with one key is done once; another key does it again', async () => {
    const email = 'resent.once@example.test';
    expect((await admin('/admin/invites', { user: email, role: 'member' }, 'create-1')).status).toBe(200);
    const again = await admin('/admin/invites', { user: email, role: 'member' }, 'create-1');
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([200, 'OK', 'true']);
    const { id } = await t.services.db('invitations').where({ email }).first('id');
    const before = await sendCount(email);
    for (let i = 0; i < 3; i++) expect((await admin(`/admin/invites/${id}/resend`, {}, 'resend-1')).status).toBe(200);
    expect(await sendCount(email)).toBe(before + 1);
    expect((await admin(`/admin/invites/${id}/resend`, {}, 'resend-2')).status).toBe(200);
    expect(await sendCount(email)).toBe(before + 2);
  });

  it('the same key for another body is refused (422), and an error answer is given again as it was', async () => {
    expect((await admin('/admin/invites', { user: 'first@example.test', role: 'member' }, 'reused')).status).toBe(200);
    const other = await admin('/admin/invites', { user: 'second@example.test', role: 'member' }, 'reused');
    expect([other.status, other.json.code]).toEqual([422, 'idempotency_key_reused']);
    expect(await t.services.db('invitations').where({ email: 'second@example.test' })).toHaveLength(0);
    const bad = await admin('/admin/invites', { user: 'not an address', role: 'member' }, 'bad-1');
    const badAgain = await admin('/admin/invites', { user: 'not an address', role: 'member' }, 'bad-1');
    expect([badAgain.status, badAgain.json]).toEqual([bad.status, bad.json]);
    expect(badAgain.headers.get('idempotent-replayed')).toBe('true');
  });

  it('one caller\'s key is not another\'s: a second member using the same key does the work for themselves', async () => {
    const other = await t.createMember('admin', 'other.admin@acme.test');
    expect((await admin('/admin/invites', { user: 'mine@example.test', role: 'member' }, 'shared-key')).status).toBe(200);
    const theirs = await request(t.url, '/admin/invites', { apiToken: other.apiToken, body: { user: 'mine@example.test', role: 'member' }, headers: { 'idempotency-key': 'shared-key' } });
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
  });

  it('while a request with the key is under way the same key answers 409 (medusa-js retries it); one cut off a minute ago is taken over', async () => {
    const now = t.services.clock.now();
    const keyHash = keyHashOf('POST', '/admin/invites', t.admin.member.id, 'in-flight');
    // Under way, for the same body (the fingerprint is the body's).
    const fingerprint = createHash('sha256').update(JSON.stringify({ user: 'flight@example.test', role: 'member' })).digest('hex');
    await t.services.db('idempotency_keys').insert({ key_hash: keyHash, fingerprint, created_at: now });
    const busy = await admin('/admin/invites', { user: 'flight@example.test', role: 'member' }, 'in-flight');
    expect([busy.status, busy.json.type, busy.json.code, busy.headers.get('retry-after')]).toEqual([409, 'conflict', 'idempotency_key_in_use', '1']);
    expect(await t.services.db('invitations').where({ email: 'flight@example.test' })).toHaveLength(0);
    await t.services.db('idempotency_keys').where({ key_hash: keyHash }).update({ created_at: now - 61_000 });
    expect((await admin('/admin/invites', { user: 'flight@example.test', role: 'member' }, 'in-flight')).status).toBe(200);
    expect(await t.services.db('invitations').where({ email: 'flight@example.test' })).toHaveLength(1);
  });

  it('before sign-in (an accept) only a success is kept: a refused guess stores nothing, and its retry is judged again', async () => {
    const guess = () => request(t.url, '/admin/invites/accept', { body: { token: 'B'.repeat(43), user: { first_name: 'Gu', last_name: 'Ess', password: PASSWORD } }, headers: { 'idempotency-key': 'guess-1' } });
    const first = await guess();
    const again = await guess();
    expect([first.status, again.status, again.headers.get('idempotent-replayed')]).toEqual([400, 400, null]);
    expect(await t.services.db('idempotency_keys').where({ key_hash: keyHashOf('POST', '/admin/invites/accept', 'anyone', 'guess-1') })).toHaveLength(0);
  });

  it('a body nested far deeper than any route takes gets the same 4xx with a key as without, and nothing is kept', async () => {
    // JSON.parse takes nesting deeper than the call stack goes, within the body limit.
    const arrays = '['.repeat(32_767) + ']'.repeat(32_767);
    const objects = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const inAccept = `{"token":"${'C'.repeat(43)}","user":{"first_name":"De","last_name":"Ep","password":${arrays}}}`;
    const errors = vi.spyOn(t.services.logger, 'error');
    try {
      for (const [i, body] of [arrays, objects, inAccept].entries()) {
        const send = (key?: string) => request(t.url, '/admin/invites/accept', { body, headers: key ? { 'idempotency-key': key } : {} });
        const without = await send();
        const withKey = await send(`deep-${i}`);
        expect(without.status).toBeGreaterThanOrEqual(400);
        expect(without.status).toBeLessThan(500);
        expect([withKey.status, withKey.json]).toEqual([without.status, without.json]);
        expect(await t.services.db('idempotency_keys').where({ key_hash: keyHashOf('POST', '/admin/invites/accept', 'anyone', `deep-${i}`) })).toHaveLength(0);
      }
      expect(errors).not.toHaveBeenCalled();
    } finally {
      errors.mockRestore();
    }
  });

  it('the fingerprint leaves out every password, however deep, and is the same as before for a body kept earlier', async () => {
    const body = { user: 'deep.pw@example.test', role: 'member', message: 'hello', password: 'top', extra: [{ password: 'inner', keep: [1, 'two', null, true, { password: 'x', n: -0.5 }] }] };
    const res = await admin('/admin/invites', body, 'fingerprint-1');
    expect(res.status).toBe(400);
    const kept = await t.services.db('idempotency_keys').where({ key_hash: keyHashOf('POST', '/admin/invites', t.admin.member.id, 'fingerprint-1') }).first();
    const stripped = { user: 'deep.pw@example.test', role: 'member', message: 'hello', extra: [{ keep: [1, 'two', null, true, { n: -0.5 }] }] };
    expect(kept.fingerprint).toBe(createHash('sha256').update(JSON.stringify(stripped)).digest('hex'));
  });

  it('a key that is not 1 to 255 visible characters is refused before anything is done', async () => {
    const res = await admin('/admin/invites', { user: 'badkey@example.test', role: 'member' }, 'a key with spaces');
    expect([res.status, res.json.type]).toEqual([400, 'invalid_data']);
    expect(await t.services.db('invitations').where({ email: 'badkey@example.test' })).toHaveLength(0);
  });
});
