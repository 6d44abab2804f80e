import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.js';
import type { OutboxRow } from '../../src/outbox/outbox.js';
import type { Actor } from '../../src/shared/actor.js';
import { retryAfterMs } from '../../src/webhooks/delivery.js';
import { addEndpoint, endpointHealth, envEndpointId, storedEndpoint } from '../../src/webhooks/endpoints.js';
import { WEBHOOK, type WebhookPayload } from '../../src/webhooks/webhook-events.js';
import { createTestDatabase, DIALECTS, ManualClock, type TestDatabase } from '../support/db.js';
import { servicesFor, stopServices, tempDataDir } from '../support/service.js';
import { eventually } from '../support/wait.js';
import { newWebhookSecret } from '../../src/webhooks/secrets.js';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = TEST_WEBHOOK_SECRET;
const OPERATOR: Actor = { type: 'system', name: 'cli:test' };
const HOUR = 3_600_000;

async function webhookRows(s: Services): Promise<OutboxRow[]> {
  return (await s.db<OutboxRow>('outbox').where({ kind: WEBHOOK }).orderBy('id')) as OutboxRow[];
}

describe.each(DIALECTS)('webhook delivery (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let clock: ManualClock;
  const running: Services[] = [];
  const receivers: WebhookReceiver[] = [];

  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    // Near the real time: the verifier refuses timestamps more than 5 minutes off.
    clock = new ManualClock(Date.now());
  });

  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
    await stopServices(running);
    await test.destroy();
    data.cleanup();
  });

  const receiver = async (secret?: string) => {
    const r = await WebhookReceiver.start(secret);
    receivers.push(r);
    return r;
  };
  const services = (urls: string[], options: Parameters<typeof servicesFor>[1] = {}) => {
    const env = urls.length ? { WEBHOOK_URLS: urls.join(','), WEBHOOK_SECRET: SECRET } : {};
    const s = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, ...env }, { clock, webhookEndpointsTtlMs: 0, ...options });
    running.push(s);
    return s;
  };

  it('signs each delivery so the standardwebhooks verifier accepts it, and retries a 500 under the same webhook-id', async () => {
    const hooks = await receiver(SECRET);
    hooks.script.push(500);
    const s = services([hooks.url]);
    await s.invites.inviteMany({ emails: 'ada@example.io', actor: OPERATOR });

    expect((await s.webhooks.drain()).settled).toBe(0);
    expect(hooks.received).toHaveLength(1);
    expect(hooks.received[0]!.status).toBe(500);
    const [failing] = await webhookRows(s);
    expect(failing!.state).toBe('pending');
    expect(failing!.last_error).toMatch(/answered 500/);

    // Not due yet: nothing is sent again before its backoff.
    await s.webhooks.drain();
    expect(hooks.received).toHaveLength(1);

    clock.advance(10_000);
    expect((await s.webhooks.drain()).delivered).toBe(1);
    expect(hooks.received).toHaveLength(2);
    const [first, retry] = hooks.received;
    expect(retry!.id).toBe(first!.id);
    expect(retry!.id).toMatch(/^msg_/);
    expect(retry!.body).toBe(first!.body);
    expect(retry!.verified, retry!.verifyError).toBe(true);
    expect(first!.verified, first!.verifyError).toBe(true);
    expect(Number(retry!.timestamp)).toBe(Math.floor(clock.now() / 1000));
    const body = hooks.bodies()[1]!;
    expect(body.type).toBe('invite.created');
    expect(new Date(body.timestamp).getTime()).toBe(clock.now() - 10_000);
    expect(body.data).toMatchObject({ invitation: { email: 'ada@example.io', role: 'member', status: 'pending' }, actor: { type: 'system', id: 'cli:test' } });

    const health = (await endpointHealth(s.db, [envEndpointId(hooks.url)], clock.now())).get(envEndpointId(hooks.url))!;
    expect(health).toMatchObject({ failuresLastDay: 1, lastSuccessAt: clock.now() });
    expect(health.lastError).toMatch(/500/);
  });

  it('a signature made with another secret is refused by the verifier', async () => {
    const hooks = await receiver(`whsec_${Buffer.from('not-the-secret-doorman-signs-with').toString('base64')}`);
    const s = services([hooks.url]);
    await s.invites.inviteMany({ emails: 'ada@example.io', actor: OPERATOR });
    await s.webhooks.drain();
    expect(hooks.received).toHaveLength(1);
    expect(hooks.received[0]!.verified).toBe(false);
  });

  it('a change wakes the worker: a role change, a deactivation and a revoke go out without waiting for its next look', async () => {
    const hooks = await receiver(SECRET);
    // The worker looks on its own once a minute: anything sooner came from a wake.
    const s = services([hooks.url], { webhookWorker: { pollIntervalMs: 60_000 } });
    const { member } = await s.members.create({ email: 'm@example.io', role: 'member' }, OPERATOR);
    const [id] = (await s.invites.inviteMany({ emails: 'a@example.io', actor: OPERATOR })).invitationIds;
    s.webhooks.start();
    const types = () => hooks.bodies().map((b) => b.type);
    await eventually(() => types().includes('invite.created'), 5_000, 'what was queued before the start');
    await s.members.setRole(member.id, 'developer', OPERATOR);
    await eventually(() => types().includes('member.role_changed'), 5_000, 'member.role_changed');
    await s.members.deactivate(member.id, OPERATOR);
    await eventually(() => types().includes('member.deactivated'), 5_000, 'member.deactivated');
    await s.invites.revoke(id!, OPERATOR);
    await eventually(() => types().includes('invite.revoked'), 5_000, 'invite.revoked');
    await s.webhooks.stop();
  });

  it('every webhook-id arrives exactly once across a restart between queueing and delivering', async () => {
    const hooks = await receiver(SECRET);
    const other = await receiver(SECRET);
    const before = services([hooks.url, other.url]);
    const summary = await before.invites.inviteMany({ emails: ['a@example.io', 'b@example.io', 'c@example.io'], actor: OPERATOR });
    await before.invites.revoke(summary.invitationIds[0]!, OPERATOR);
    const { member } = await before.members.create({ email: 'm@example.io', role: 'admin' }, OPERATOR);
    const { member: second } = await before.members.create({ email: 'n@example.io', role: 'member' }, OPERATOR);
    await before.members.create({ email: 'o@example.io', role: 'admin' }, OPERATOR);
    await before.members.setRole(member.id, 'developer', OPERATOR);
    await before.members.deactivate(second.id, OPERATOR);
    // 9 events × 2 endpoints, queued with their changes; the process ends before any is sent.
    expect(await webhookRows(before)).toHaveLength(18);
    await stopServices(running);

    const after = services([hooks.url, other.url]);
    after.webhooks.start();
    await eventually(() => hooks.received.length >= 9 && other.received.length >= 9, 15_000, 'all webhooks');
    await after.webhooks.stop();
    await stopServices(running);
    // A third start finds nothing left to send.
    const again = services([hooks.url, other.url]);
    expect((await again.webhooks.drain()).settled).toBe(0);

    for (const r of [hooks, other]) {
      const ids = r.received.map((w) => w.id);
      expect(new Set(ids).size).toBe(9);
      expect(ids).toHaveLength(9);
      expect(r.received.every((w) => w.verified)).toBe(true);
      expect(r.bodies().map((b) => b.type).sort()).toEqual(['invite.created', 'invite.created', 'invite.created', 'invite.revoked', 'member.created', 'member.created', 'member.created', 'member.deactivated', 'member.role_changed']);
    }
    // One id per event, the same at every endpoint.
    expect(new Set(hooks.received.map((w) => w.id))).toEqual(new Set(other.received.map((w) => w.id)));
    expect(hooks.bodies().find((b) => b.type === 'member.role_changed')!.data).toMatchObject({ member: { id: member.id, role: 'developer' }, previous_role: 'admin' });
  });

  it('an instance not told of a URL (a rolling deploy adding it) leaves its deliveries, all put off together, to one that was; a URL removed everywhere is dropped at the give-up', async () => {
    const a = await receiver(SECRET);
    const b = await receiver(SECRET);
    const forB = async (s: Services) => (await webhookRows(s)).filter((row) => (JSON.parse(row.payload) as WebhookPayload).endpointId === envEndpointId(b.url));
    const newer = services([a.url, b.url]);
    const older = services([a.url]);
    const emails = Array.from({ length: 40 }, (_, i) => `added${i}@example.io`);
    await newer.invites.inviteMany({ emails, actor: OPERATOR });
    await older.webhooks.drain();
    expect(a.received).toHaveLength(40);
    const left = await forB(older);
    expect(left.every((row) => row.state === 'pending')).toBe(true);
    // Put off together at the first it met: the claims after it took a's only (a claim is 32 rows).
    expect(left.filter((row) => Number(row.attempts) > 0).length).toBeLessThan(40);
    clock.advance(61_000);
    await newer.webhooks.drain();
    expect(b.received).toHaveLength(40);
    // b removed from every instance: what is still queued for it waits out the give-up time, then is dropped.
    await newer.invites.revokeIfOpen((await newer.db('invitations').first('id')).id, OPERATOR);
    for (let hours = 0; hours <= 73; hours++) {
      await older.webhooks.drain();
      clock.advance(HOUR);
    }
    const last = (await forB(older)).at(-1)!;
    expect([last.state, last.last_error]).toEqual(['cancelled', 'the endpoint was removed']);
    expect(b.received).toHaveLength(40);
  });

  it('gives a failing delivery up after 3 days (a weekend\'s outage) and marks it so', async () => {
    const hooks = await receiver();
    hooks.otherwise = 503;
    const s = services([hooks.url]);
    await s.invites.inviteMany({ emails: 'ada@example.io', actor: OPERATOR });
    for (let hours = 0; hours <= 74; hours++) {
      await s.webhooks.drain();
      clock.advance(HOUR);
    }
    const [row] = await webhookRows(s);
    expect(row!.state).toBe('done');
    expect(row!.last_error).toMatch(/^given up after 72 h: the endpoint answered 503/);
    const attempts = hooks.received.length;
    expect(attempts).toBeGreaterThan(5);
    expect(new Set(hooks.received.map((w) => w.id)).size).toBe(1);
    clock.advance(HOUR);
    await s.webhooks.drain();
    expect(hooks.received).toHaveLength(attempts);
  });

  it('two secrets while one is rotated: each delivery carries a signature by each, so a receiver holding either accepts it', async () => {
    const next = newWebhookSecret();
    const [old, renewed] = [await receiver(SECRET), await receiver(next)];
    const s = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, WEBHOOK_URLS: `${old.url},${renewed.url}`, WEBHOOK_SECRET: `${next} ${SECRET}` }, { clock, webhookEndpointsTtlMs: 0 });
    running.push(s);
    await s.invites.inviteMany({ emails: 'rotation@example.io', actor: OPERATOR });
    await s.webhooks.drain();
    for (const hooks of [old, renewed]) {
      expect(hooks.received.map((w) => w.verified)).toEqual([true]);
      expect(hooks.received[0]!.signature.split(' ')).toHaveLength(2);
    }
  });

  it('a 503 with Retry-After (seconds, or a date) is left alone that long, not the backoff\'s seconds; then delivered under the same webhook-id', async () => {
    // No verifying here: the clock moves half an hour past the verifier's 5 minutes.
    const hooks = await receiver();
    hooks.script.push(503);
    hooks.answerHeaders = { 'retry-after': '1800' };
    const s = services([hooks.url]);
    await s.invites.inviteMany({ emails: 'maintenance@example.io', actor: OPERATOR });
    await s.webhooks.drain();
    expect(hooks.received.map((w) => w.status)).toEqual([503]);
    // The backoff alone would try again within seconds; another instance (or this one restarted,
    // its pauses forgotten) keeps the wait too, from the row.
    const other = services([hooks.url]);
    for (const minutes of [1, 10, 29]) {
      clock.current = Number((await webhookRows(s))[0]!.created_at) + minutes * 60_000;
      await other.webhooks.drain();
      await s.webhooks.drain();
      expect(hooks.received, `${minutes} min on`).toHaveLength(1);
    }
    clock.advance(61_000);
    await s.webhooks.drain();
    expect(hooks.received.map((w) => w.status)).toEqual([503, 204]);
    expect(hooks.received[1]!.id).toBe(hooks.received[0]!.id);
  });

  it('a retry that comes due past the give-up time is given up without a request, though no pause covers it (the process restarted, the endpoint is back)', async () => {
    const hooks = await receiver();
    const s = services([hooks.url]);
    await s.invites.inviteMany({ emails: 'late@example.io', actor: OPERATOR });
    const [queued] = await webhookRows(s);
    // As three days of failures left it: its last retry (up to an hour and more) due after the 72 hours.
    await s.db('outbox').where({ id: queued!.id }).update({ failures: 80, attempts: 80, last_error: 'the endpoint answered 503', created_at: clock.now() - 72 * HOUR - 20 * 60_000, next_attempt_at: clock.now() });
    await s.webhooks.drain();
    expect(hooks.received).toHaveLength(0);
    const [row] = await webhookRows(s);
    expect([row!.state, row!.last_error]).toEqual(['done', 'given up after 72 h: the endpoint answered 503']);
    // Never tried (the service was down for days): sent once all the same.
    await s.invites.inviteMany({ emails: 'first@example.io', actor: OPERATOR });
    const fresh = (await webhookRows(s)).at(-1)!;
    await s.db('outbox').where({ id: fresh.id }).update({ created_at: clock.now() - 73 * HOUR });
    await s.webhooks.drain();
    expect(hooks.received).toHaveLength(1);
  });

  it('an endpoint that keeps failing: the others wait out its pause without a request, and every delivery is given up after 3 days', async () => {
    const hooks = await receiver();
    hooks.otherwise = 503;
    const s = services([hooks.url]);
    await s.invites.inviteMany({ emails: Array.from({ length: 20 }, (_, i) => `p${i}@example.io`), actor: OPERATOR });
    const requestsPerLook: number[] = [];
    for (let hours = 0; hours <= 74; hours++) {
      const before = hooks.received.length;
      await s.webhooks.drain();
      requestsPerLook.push(hooks.received.length - before);
      clock.advance(HOUR);
    }
    // At most its two lanes' worth at a time: a delivery handed a lane after a failure sees the new pause.
    expect(Math.max(...requestsPerLook)).toBeLessThanOrEqual(2);
    const rows = await webhookRows(s);
    expect(rows).toHaveLength(20);
    expect(rows.filter((r) => r.state !== 'done')).toEqual([]);
    expect(rows.every((r) => /^given up after 72 h: the endpoint answered 503/.test(String(r.last_error)))).toBe(true);
    // Failed attempts are requests that failed: a delivery given up while the endpoint was paused made none.
    const failures = (await endpointHealth(s.db, [envEndpointId(hooks.url)], clock.now())).get(envEndpointId(hooks.url))!.failuresLastDay;
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThanOrEqual(hooks.received.length);
  });

  it('a dead endpoint with a backlog does not hold the others back: its pause puts off all it has waiting, so another endpoint\'s new event goes at the next look', async () => {
    const dead = await receiver();
    dead.otherwise = 503;
    const live = await receiver();
    const s = services([dead.url, live.url]);
    await s.invites.inviteMany({ emails: Array.from({ length: 200 }, (_, i) => `b${i}@example.io`), actor: OPERATOR });
    // The live endpoint gets its 200; the dead one's wait in the outbox.
    for (let look = 0; look < 40 && live.received.length < 200; look++) {
      await s.webhooks.drain();
      clock.advance(1_000);
    }
    expect(live.received).toHaveLength(200);
    const deadRequests = dead.received.length;
    // Well past the dead endpoint's pause: its 200 are all due again, ahead of anything newer.
    clock.advance(10 * 60_000);
    await s.invites.inviteMany({ emails: 'latest@example.io', actor: OPERATOR });
    let looks = 0;
    while (live.received.length === 200 && looks < 20) {
      looks++;
      await s.webhooks.drain();
    }
    expect(live.received).toHaveLength(201);
    // The first look tries the dead endpoint once more (and puts all its waiting off again); the next one reaches the live endpoint.
    expect(looks).toBeLessThanOrEqual(2);
    expect(dead.received.length - deadRequests).toBeLessThanOrEqual(2);
  });

  it('410 Gone disables an added endpoint: nothing more is sent or queued to it', async () => {
    const hooks = await receiver();
    hooks.script.push(410);
    const s = services([]);
    const endpoint = await addEndpoint(s.db, clock.now(), { url: hooks.url, envUrls: [], appSecret: s.config.appSecret });
    await s.invites.inviteMany({ emails: 'ada@example.io', actor: OPERATOR });
    await s.webhooks.drain();
    expect(hooks.received).toHaveLength(1);
    const stored = await storedEndpoint(s.db, endpoint.id);
    expect(stored).toMatchObject({ state: 'disabled', disabledReason: 'it answered 410 Gone' });
    expect((await webhookRows(s)).map((r) => [r.state, r.last_error])).toEqual([['done', 'the endpoint answered 410 Gone']]);
    await s.invites.inviteMany({ emails: 'bob@example.io', actor: OPERATOR });
    expect(await webhookRows(s)).toHaveLength(1);
  });

  it('410 Gone from a WEBHOOK_URLS endpoint: that instance sends it nothing more until it restarts, and gives its deliveries up without a request', async () => {
    const hooks = await receiver();
    hooks.script.push(410);
    const s = services([hooks.url]);
    await s.invites.inviteMany({ emails: 'ada@example.io', actor: OPERATOR });
    await s.webhooks.drain();
    await s.invites.inviteMany({ emails: 'bob@example.io, cy@example.io', actor: OPERATOR });
    await s.webhooks.drain();
    expect(hooks.received).toHaveLength(1);
    expect((await webhookRows(s)).map((r) => [r.state, r.last_error])).toEqual([
      ['done', 'the endpoint answered 410 Gone'],
      ['done', 'the endpoint answered 410 Gone (it wants no more); remove it from WEBHOOK_URLS'],
      ['done', 'the endpoint answered 410 Gone (it wants no more); remove it from WEBHOOK_URLS'],
    ]);
    // A restart tries it again (the environment may have been put right meanwhile).
    const restarted = services([hooks.url]);
    await restarted.invites.inviteMany({ emails: 'dee@example.io', actor: OPERATOR });
    await restarted.webhooks.drain();
    expect(hooks.received).toHaveLength(2);
  });

  it('an added endpoint receives only the events it asked for, signed with its own secret', async () => {
    const hooks = await receiver();
    const s = services([]);
    const endpoint = await addEndpoint(s.db, clock.now(), { url: hooks.url, events: ['invite.revoked'], envUrls: [], appSecret: s.config.appSecret });
    hooks.secret = endpoint.secret;
    const summary = await s.invites.inviteMany({ emails: 'ada@example.io', actor: OPERATOR });
    await s.invites.revoke(summary.invitationIds[0]!, OPERATOR);
    await s.webhooks.drain();
    expect(hooks.bodies().map((b) => b.type)).toEqual(['invite.revoked']);
    expect(hooks.received[0]!.verified, hooks.received[0]!.verifyError).toBe(true);
  });

  it("an added endpoint's secret is stored sealed by APP_SECRET; under another APP_SECRET its deliveries are given up, saying why", async () => {
    const hooks = await receiver();
    const s = services([]);
    const endpoint = await addEndpoint(s.db, clock.now(), { url: hooks.url, envUrls: [], appSecret: s.config.appSecret });
    const stored = (await s.db('webhook_endpoints').where({ id: endpoint.id }).first('secret')) as { secret: string };
    expect(stored.secret).not.toContain(endpoint.secret.slice('whsec_'.length));
    expect(stored.secret).toMatch(/^sealed\.v1\./);
    await s.invites.inviteMany({ emails: 'ada@example.io', actor: OPERATOR });
    await stopServices(running);

    const other = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: 'another-app-secret-that-is-long-enough-0123456789' }, { clock, webhookEndpointsTtlMs: 0 });
    running.push(other);
    await other.webhooks.drain();
    expect(hooks.received).toHaveLength(0);
    expect((await webhookRows(other)).map((r) => [r.state, r.last_error])).toEqual([['done', expect.stringMatching(/cannot open the endpoint's secret \(was APP_SECRET changed\?\)/)]]);
  });

  it('an endpoint stored with a user name and password in its URL (before they were refused) is given up at once, saying why, never logging them', async () => {
    const hooks = await receiver();
    const s = services([]);
    const endpoint = await addEndpoint(s.db, clock.now(), { url: hooks.url, envUrls: [], appSecret: s.config.appSecret });
    const withCredentials = hooks.url.replace('//', '//hook:s3cr@t@');
    await s.db('webhook_endpoints').where({ id: endpoint.id }).update({ url: withCredentials });
    await s.invites.inviteMany({ emails: 'ada@example.io', actor: OPERATOR });
    await s.webhooks.drain();
    expect(hooks.received).toHaveLength(0);
    const rows = await webhookRows(s);
    expect(rows.map((r) => [r.state, r.last_error])).toEqual([['done', expect.stringMatching(/user name or password/)]]);
    expect(JSON.stringify(rows)).not.toContain('s3cr');
  });

  it('an answer whose body never ends is done with its status: the body is dropped unread past a bound, not held in memory until the timeout', async () => {
    const endless = await receiver();
    endless.otherwise = 'endless';
    const s = services([endless.url], { webhookDelivery: { timeoutMs: 120_000 } });
    await s.invites.inviteMany({ emails: 'streamed@example.io', actor: OPERATOR });
    const drained = s.webhooks.drain();
    await eventually(async () => (await webhookRows(s)).every((row) => row.state === 'done'), 5_000, 'the delivery done');
    await drained;
    expect(endless.received).toHaveLength(1);
  });

  it('a slow endpoint that does answer holds back neither the others nor their later events: it keeps to its own lanes while theirs flow', async () => {
    const slow = await receiver();
    // Slower than the test: any wait for it shows as a healthy event missing.
    slow.delayMs = 60_000;
    const healthy = await receiver(SECRET);
    const s = services([slow.url, healthy.url]);
    s.webhooks.start();
    // More deliveries than one claim takes (32): each event goes to both endpoints.
    await s.invites.inviteMany({ emails: Array.from({ length: 40 }, (_, i) => `p${i}@example.io`), actor: OPERATOR });
    await eventually(() => healthy.received.length === 40, 15_000, 'every event at the healthy endpoint');
    const answeredBySlow = () => slow.received.length - slow.hangingCount;
    // All of them before the slow endpoint answered its first request: none waited for it.
    expect(answeredBySlow()).toBe(0);
    expect(slow.hangingCount).toBeLessThanOrEqual(2);
    // An event queued while its requests are still under way goes out at once, too.
    await s.invites.inviteMany({ emails: 'late@example.io', actor: OPERATOR });
    await eventually(() => healthy.received.length === 41, 15_000, 'the later event');
    expect(answeredBySlow()).toBe(0);
    expect(healthy.received.every((w) => w.verified)).toBe(true);
  });

  it('a hanging endpoint holds back neither the other endpoints nor the invitation emails', async () => {
    const hanging = await receiver();
    hanging.otherwise = 'hang';
    const healthy = await receiver(SECRET);
    // A timeout far beyond the test: the hanging requests stay open throughout.
    const s = services([hanging.url, healthy.url], { webhookDelivery: { timeoutMs: 120_000 } });
    s.outbox.start();
    s.webhooks.start();
    const emails = Array.from({ length: 12 }, (_, i) => `person${i}@example.io`);
    const summary = await s.invites.inviteMany({ emails, actor: OPERATOR });
    await eventually(async () => {
      const sent = await s.db('invitations').whereIn('id', summary.invitationIds).where({ delivery_state: 'sent' }).count({ n: '*' });
      return Number(sent[0]!.n) === emails.length;
    }, 15_000, 'every invitation email sent');
    await eventually(() => healthy.received.length === emails.length, 15_000, 'every event at the healthy endpoint');
    // The hanging endpoint got no more than its own lanes, and all of them are still waiting.
    expect(hanging.hangingCount).toBeGreaterThan(0);
    expect(hanging.hangingCount).toBeLessThanOrEqual(2);
    expect(hanging.received.every((w) => w.status === 'hung')).toBe(true);

    // Stopping ends the hanging requests at once (their timeout is far off); they stay queued.
    await s.webhooks.stop();
    const rows = await webhookRows(s);
    const hangingId = envEndpointId(hanging.url);
    const left = rows.filter((r) => (JSON.parse(r.payload) as WebhookPayload).endpointId === hangingId);
    expect(left).toHaveLength(emails.length);
    expect(left.every((r) => r.state === 'pending')).toBe(true);
    expect(rows.filter((r) => r.state === 'done')).toHaveLength(emails.length);
    await hanging.close();
  });
});

describe('Retry-After as a webhook receiver sends it', () => {
  it('reads delta-seconds and HTTP dates; anything else is no ask', () => {
    const now = Date.UTC(2026, 11, 7, 12, 0, 0);
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Mon, 07 Dec 2026 12:30:00 GMT', now)).toBe(30 * 60_000);
    expect(retryAfterMs('Mon, 07 Dec 2026 11:00:00 GMT', now)).toBe(0);
    for (const unread of [null, '', 'soon', '-5', '1.5']) expect(retryAfterMs(unread, now), String(unread)).toBeUndefined();
  });
});
