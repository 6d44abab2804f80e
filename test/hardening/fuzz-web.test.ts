import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/db.js';
import { ManualClock } from '../support/db.js';
import { OPERATOR, startTestApp, type TestApp } from '../support/http.js';
import { installChangeCounter, report, tempSqlite } from './support.js';

/**
 * Fuzzing the web door: the admin API (methods, paths, ids, query strings, headers, bodies) and the
 * accept page (GET with any token, form posts of any shape). Every case: no 5xx, and a refused
 * request (4xx) changes nothing in the domain tables (a trigger-kept change counter is read after
 * each case). One server, keep-alive connections, one case after another so each change is
 * attributed to the case that made it.
 */

const RUNS = Number(process.env.HARDENING_RUNS ?? 10_000);
const DAY = 86_400_000;
const HIGH = { windowMs: 60_000, limit: 10_000_000 };

const SQLI = [
  "' OR 1=1 --",
  "'; DROP TABLE invitations; --",
  '" OR ""="',
  "x%' UNION SELECT password_hash FROM members --",
  'created_at; DELETE FROM members',
  '-created_at, (SELECT 1)',
  '1; SELECT pg_sleep(5)',
  "\\' OR 1=1",
  '%_%',
  '\u0000',
  '../../etc/passwd',
  '${7*7}',
  '<script>alert(1)</script>',
];

describe('fuzzing the web door (admin API and accept page)', () => {
  let t: TestApp;
  let changes: () => Promise<number>;
  const clock = new ManualClock(Date.now());
  const ids: Record<'pending' | 'expired' | 'accepted' | 'revoked', string[]> = { pending: [], expired: [], accepted: [], revoked: [] };
  const tokens: Record<'pending' | 'expired' | 'accepted' | 'revoked', string[]> = { pending: [], expired: [], accepted: [], revoked: [] };
  let member: { apiToken: string };
  let adminBearer = '';
  const figures = { adminCases: 0, adminRefused: 0, adminAccepted: 0, acceptCases: 0, acceptRefused: 0, acceptAccepted: 0, statuses: {} as Record<string, number> };

  beforeAll(async () => {
    const sqlite = await tempSqlite();
    const testDb: TestDatabase = { dialect: 'sqlite', config: { client: 'sqlite', filename: sqlite.filename }, url: sqlite.url, db: sqlite.db, destroy: sqlite.cleanup };
    t = await startTestApp('sqlite', { database: testDb, clock, runWorker: false, rateLimits: { tokenFailures: HIGH, passwordFailures: HIGH, authFailures: HIGH } });
    member = await t.createMember('member', 'plain@acme.test');
    const { invites } = t.services;
    const link = async (id: string) => new URL((await invites.copyLink(id)).link).searchParams.get('token')!;
    const old = await invites.inviteMany({ emails: 'old1@acme.test, old2@acme.test', actor: OPERATOR });
    const oldTokens = [await link(old.invitationIds[0]!), await link(old.invitationIds[1]!)];
    clock.advance(8 * DAY);
    ids.expired.push(...old.invitationIds);
    tokens.expired.push(...oldTokens);
    const fresh = await invites.inviteMany({ emails: Array.from({ length: 8 }, (_, i) => `p${i}@acme.test`), actor: OPERATOR });
    for (const id of fresh.invitationIds) {
      ids.pending.push(id);
      tokens.pending.push(await link(id));
    }
    // One accepted, one revoked (their old tokens are kept for replay).
    const acc = ids.pending.pop()!;
    const accToken = tokens.pending.pop()!;
    await invites.accept({ token: accToken, firstName: 'Acc', lastName: 'Epted', password: 'long enough password' });
    ids.accepted.push(acc);
    tokens.accepted.push(accToken);
    const rev = ids.pending.pop()!;
    tokens.revoked.push(tokens.pending.pop()!);
    await invites.revoke(rev, OPERATOR);
    ids.revoked.push(rev);
    const auth = await fetch(`${t.url}/admin/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: t.admin.email, password: t.admin.password }) });
    adminBearer = ((await auth.json()) as { access_token: string }).access_token;
    changes = await installChangeCounter(sqlite.db);
  });

  afterAll(async () => {
    report('fuzz-web', figures);
    await t?.close();
  });

  const anyId = () =>
    fc.oneof(
      fc.constantFrom(...ids.pending, ...ids.expired, ...ids.accepted, ...ids.revoked),
      fc.stringMatching(/^invite_[0-9A-Za-z]{1,40}$/),
      fc.string({ maxLength: 60 }).map(encodeURIComponent),
      fc.constantFrom('invite_', '..%2F..%2Fhealthz', '%00', 'invite_%27%20OR%201%3D1', 'x'.repeat(5000), 'usr_1', '-1', '1e9'),
    );
  const anyText = () => fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...SQLI), fc.string({ unit: 'binary', maxLength: 20 }));
  const anyJson = () =>
    fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ user: fc.oneof(anyText(), fc.emailAddress(), fc.jsonValue({ maxDepth: 1 })), role: fc.oneof(fc.constantFrom('admin', 'member', 'developer', 'owner', 'ADMIN'), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }),
      fc.record(
        {
          token: fc.oneof(anyText(), fc.constantFrom(...tokens.accepted, ...tokens.revoked, ...tokens.expired), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.jsonValue({ maxDepth: 1 })),
          user: fc.oneof(fc.record({ first_name: fc.oneof(anyText(), fc.integer()), last_name: anyText(), password: fc.oneof(fc.string({ maxLength: 7 }), fc.integer(), fc.constant(null)) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })),
          extra: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      ),
      fc.record({ email: fc.oneof(fc.jsonValue({ maxDepth: 1 }), anyText()), password: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())) }, { requiredKeys: [] }),
      fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'prototype')), fc.jsonValue({ maxDepth: 2 })),
    );
  const anyBody = () =>
    fc.oneof(
      fc.constant(undefined),
      anyJson().map((v) => JSON.stringify(v)),
      fc.constantFrom('{', '{"user":', '[]', 'null', '"x"', '{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"x":1}}}'),
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    );
  const anyQuery = () =>
    fc
      .dictionary(fc.constantFrom('status', 'q', 'limit', 'offset', 'order', 'expand', 'fields', 'status[]', 'limit[0]', 'q[$gt]', 'x'), fc.oneof(anyText(), fc.integer().map(String), fc.constantFrom('open', 'all', 'pending', '-created_at', 'user_email', '-1', '1e999', 'NaN', '1001', '0x10')), { maxKeys: 4 })
      .map((q) => (Object.keys(q).length ? '?' + new URLSearchParams(q).toString() : ''));
  const anyAuth = () =>
    fc.oneof(
      fc.constant<Record<string, string>>({}),
      fc.constant({ who: 'admin' }).map(() => ({ 'x-medusa-access-token': t.admin.apiToken })),
      fc.constant({ who: 'member' }).map(() => ({ 'x-medusa-access-token': member.apiToken })),
      fc.constant({ who: 'bearer' }).map(() => ({ authorization: `Bearer ${adminBearer}` })),
      fc.string({ maxLength: 300 }).filter(printable).map((s) => ({ 'x-medusa-access-token': s })),
      fc.string({ maxLength: 300 }).filter(printable).map((s) => ({ authorization: `Bearer ${s}` })),
      fc.constantFrom('Basic YWRtaW46YWRtaW4=', 'Bearer', 'Bearer eyJhbGciOiJub25lIn0.eyJ1c2VyX2lkIjoidXNyXzEiLCJkb21haW4iOiJhZG1pbiJ9.', 'bearer  x y').map((a) => ({ authorization: a })),
      fc.string({ maxLength: 200 }).filter(printable).map((s) => ({ cookie: `doorman.sid=${s}` })),
      fc.constantFrom('doorman.sid=%E0%A4%A', 'doorman.sid=; doorman.sid=x', 'a=b').map((c) => ({ cookie: c })),
    );
  const anyContentType = () =>
    fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=koi8-r', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/xml');

  function printable(s: string): boolean {
    return /^[\x20-\x7e]*$/.test(s);
  }

  it(`admin API: ${RUNS} generated requests, no 5xx, refused ones change nothing`, async () => {
    const routes = (id: string) => ['/admin/invites', '/admin/invites/accept', `/admin/invites/${id}/resend`, `/admin/invites/${id}`, '/admin/auth', '/admin/auth/token', '/admin/users', `/admin/${id}`, '/admin', `/admin/invites/${id}/resend/x`];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'),
        anyId(),
        fc.nat({ max: 9 }),
        anyQuery(),
        anyAuth(),
        anyContentType(),
        anyBody(),
        fc.dictionary(fc.constantFrom('x-forwarded-for', 'content-encoding', 'accept', 'origin', 'x-http-method-override', 'transfer-encoding-x'), fc.constantFrom('gzip', 'deflate', 'br', '1.2.3.4', '*/*', 'DELETE', 'evil.test'), { maxKeys: 2 }),
        async (method, id, routeIndex, query, auth, contentType, body, extraHeaders) => {
          const route = routes(id)[routeIndex]!;
          const before = await changes();
          const headers: Record<string, string> = { ...extraHeaders, ...auth };
          if (contentType) headers['content-type'] = contentType;
          const sendsBody = body !== undefined && method !== 'GET' && method !== 'HEAD';
          const res = await fetch(t.url + route + query, { method, headers, body: sendsBody ? body : undefined, redirect: 'manual' });
          await res.arrayBuffer();
          const after = await changes();
          figures.adminCases++;
          figures.statuses[res.status] = (figures.statuses[res.status] ?? 0) + 1;
          expect(res.status, `${method} ${route}${query}`).toBeLessThan(500);
          if (res.status >= 400) {
            figures.adminRefused++;
            expect(after, `${method} ${route}${query} answered ${res.status} but changed the database`).toBe(before);
          } else if (after !== before) figures.adminAccepted++;
          // A preflight is answered for anyone and does nothing.
          if (method === 'OPTIONS') {
            expect(res.status === 204 || (res.status >= 400 && res.status < 500), `OPTIONS ${route} → ${res.status}`).toBe(true);
            expect(after).toBe(before);
            return;
          }
          // A member without Member: Manage never gets an invitation route through.
          if ((auth as Record<string, string>)['x-medusa-access-token'] === member.apiToken && /^\/admin\/invites(\/invite_[^/]*(\/resend)?)?$/.test(route) && route !== '/admin/invites/accept') {
            expect(res.status === 403 || res.status === 404 || res.status === 413 || res.status === 400 || res.status === 415, `${method} ${route} as a plain member → ${res.status}`).toBe(true);
            expect(after).toBe(before);
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 180_000);

  it(`accept page: ${RUNS} generated GETs and form posts, no 5xx, refused ones change nothing, GET never changes anything`, async () => {
    const anyToken = () =>
      fc.oneof(
        { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
        { weight: 2, arbitrary: fc.constantFrom(...tokens.pending, ...tokens.expired, ...tokens.accepted, ...tokens.revoked) },
        { weight: 2, arbitrary: anyText() },
        { weight: 1, arbitrary: fc.constantFrom(...tokens.pending).map((tk) => tk.slice(0, 42) + (tk.endsWith('A') ? 'B' : 'A')) },
        { weight: 1, arbitrary: fc.constantFrom(...tokens.pending).map((tk) => tk.toLowerCase()) },
      );
    const fields = () =>
      fc.record(
        {
          token: anyToken(),
          first_name: fc.oneof(anyText(), fc.constant('Jane')),
          last_name: fc.oneof(anyText(), fc.constant('Doe')),
          password: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('correct horse battery'), fc.constant('x'.repeat(1025))),
          confirm_password: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('correct horse battery')),
          extra: anyText(),
          'token[]': anyText(),
        },
        { requiredKeys: [] },
      );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'HEAD'),
        anyToken(),
        fields(),
        fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/x-www-form-urlencoded; charset=utf-16', 'application/json', 'text/plain', 'multipart/form-data; boundary=zz', ''),
        fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.string({ maxLength: 300 }) }, { weight: 1, arbitrary: fc.constant('a=1&'.repeat(30)) }),
        fc.boolean(),
        async (method, token, form, contentType, rawBody, tokenInQuery) => {
          const before = await changes();
          const query = method === 'GET' || method === 'HEAD' || tokenInQuery ? `?${new URLSearchParams({ token }).toString()}` : '';
          const body = method === 'GET' || method === 'HEAD' ? undefined : (rawBody ?? new URLSearchParams(form as Record<string, string>).toString());
          const res = await fetch(`${t.url}/invite${query}`, { method, headers: contentType ? { 'content-type': contentType } : {}, body, redirect: 'manual' });
          await res.arrayBuffer();
          const after = await changes();
          figures.acceptCases++;
          expect(res.status, `${method} /invite`).toBeLessThan(500);
          if (res.status >= 400 || method !== 'POST') {
            figures.acceptRefused++;
            expect(after, `${method} /invite answered ${res.status} but changed the database`).toBe(before);
          } else if (after !== before) figures.acceptAccepted++;
        },
      ),
      { numRuns: RUNS },
    );
    // At most the pending invitations could be accepted, each once.
    const accepted = await t.services.db('invitations').where({ status: 'accepted' }).count<{ n: number }[]>({ n: '*' });
    expect(Number(accepted[0]!.n)).toBeLessThanOrEqual(1 + tokens.pending.length);
  }, 180_000);
});
