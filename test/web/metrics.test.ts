import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webApi } from '@slack/bolt';
import { INVITE_EMAIL } from '../../src/invites/service.js';
import { countingFetch } from '../../src/metrics/slack.js';
import { DIALECTS, ManualClock } from '../support/db.js';
import { OPERATOR, request, startTestApp, type TestApp } from '../support/http.js';
import { eventually, SlackWorld } from '../support/slack-world.js';

const DAY = 86_400_000;
const TOKEN = 'scrape-token-0123456789abcdef';

interface Scrape {
  text: string;
  families: Map<string, PrometheusFamily>;
}

/** GET /metrics, parsed by an independent parser of the Prometheus text format. */
async function scrape(base: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await request(base, '/metrics', { headers });
  expect(res.status, res.text).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const families = new Map(parsePrometheusTextFormat(res.text).map((f) => [f.name, f]));
  return { text: res.text, families };
}

function family(families: Map<string, PrometheusFamily>, name: string, type: PrometheusFamily['type']): PrometheusFamily {
  const found = families.get(name);
  if (!found) throw new Error(`no ${name} in the scrape: ${[...families.keys()].join(', ')}`);
  expect(found.type).toBe(type);
  return found;
}

/** The value of the one sample with exactly these labels (undefined when there is none). */
function value(families: Map<string, PrometheusFamily>, name: string, type: PrometheusFamily['type'], labels: Record<string, string>): number | undefined {
  const key = (l: Record<string, string>) => JSON.stringify(Object.entries(l).sort());
  const found = family(families, name, type).metrics.filter((m) => key(m.labels ?? {}) === key(labels));
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0] ? Number(found[0].value) : undefined;
}

/**
 * A histogram's `_count` (or `_sum`) series, one per label set. The parser folds a labelled
 * histogram into one sample without its labels, so these series are handed to it on their own, as
 * the counters they are.
 */
function histogramSeries(text: string, name: string, series: 'count' | 'sum'): PrometheusSample[] {
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}_${series}{`) || line.startsWith(`${name}_${series} `));
  return parsePrometheusTextFormat(`# TYPE ${name}_${series} counter\n${lines.join('\n')}\n`)[0]?.metrics ?? [];
}

/** Observations (or their sum) over a histogram's series whose labels include `labels`. */
function observed(text: string, name: string, labels: Record<string, string>, series: 'count' | 'sum' = 'count'): number {
  return histogramSeries(text, name, series)
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((n, m) => n + Number(m.value), 0);
}

describe.each(DIALECTS)('GET /metrics with METRICS=on (%s)', (dialect) => {
  let t: TestApp;
  let clock: ManualClock;
  const seeded: string[] = [];

  beforeAll(async () => {
    clock = new ManualClock();
    // The worker is left off: the outbox keeps what was queued until the test delivers it.
    t = await startTestApp(dialect, { clock, runWorker: false, env: { METRICS: 'on' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('shows invitations by status and the outbox backlog by kind with its oldest age, read from the database', async () => {
    const { invites } = t.services;
    const early = ['early-1@metrics.test', 'early-2@metrics.test'];
    const late = ['late-1@metrics.test', 'late-2@metrics.test', 'late-3@metrics.test'];
    seeded.push(...early, ...late);
    await invites.inviteMany({ emails: early, actor: OPERATOR });
    clock.advance(8 * DAY); // the first two are past their 7 days: Expired
    const ids = (await invites.inviteMany({ emails: late, actor: OPERATOR })).invitationIds;
    await invites.revoke(ids[0]!, OPERATOR);
    const token = new URL((await invites.copyLink(ids[1]!)).link).searchParams.get('token')!;
    await invites.accept({ token, firstName: 'New', lastName: 'Member', password: 'a long test passphrase' });

    const { families, text } = await scrape(t.url);
    const byStatus = Object.fromEntries(['pending', 'expired', 'accepted', 'revoked', 'awaiting_approval'].map((status) => [status, value(families, 'doorman_invitations', 'GAUGE', { status })]));
    expect(byStatus).toEqual({ pending: 1, expired: 2, accepted: 1, revoked: 1, awaiting_approval: 0 });
    // Revoking and accepting cancelled their emails: two from the first day and one from today wait.
    expect(value(families, 'doorman_outbox_backlog', 'GAUGE', { kind: INVITE_EMAIL })).toBe(3);
    expect(value(families, 'doorman_outbox_oldest_age_seconds', 'GAUGE', { kind: INVITE_EMAIL })).toBe((8 * DAY) / 1000);
    // Process metrics carry the prefix too.
    expect(families.has('doorman_process_cpu_user_seconds_total')).toBe(true);
    expect([...families.keys()].filter((name) => !name.startsWith('doorman_'))).toEqual([]);
    for (const email of [...seeded, t.admin.email]) expect(text).not.toContain(email);
  });

  it('a delivery moves doorman_deliveries_total, and an emptied backlog reads 0', async () => {
    const before = await scrape(t.url);
    expect(value(before.families, 'doorman_deliveries_total', 'COUNTER', { kind: INVITE_EMAIL, outcome: 'delivered' }) ?? 0).toBe(0);

    // The two emails of expired invitations are not sent any more: cancelled.
    const pass = await t.services.outbox.drain();
    expect(pass).toMatchObject({ delivered: 1, cancelled: 2 });

    const after = await scrape(t.url);
    expect(value(after.families, 'doorman_deliveries_total', 'COUNTER', { kind: INVITE_EMAIL, outcome: 'delivered' })).toBe(1);
    expect(value(after.families, 'doorman_deliveries_total', 'COUNTER', { kind: INVITE_EMAIL, outcome: 'cancelled' })).toBe(2);
    expect(value(after.families, 'doorman_outbox_backlog', 'GAUGE', { kind: INVITE_EMAIL })).toBe(0);
    expect(value(after.families, 'doorman_outbox_oldest_age_seconds', 'GAUGE', { kind: INVITE_EMAIL })).toBe(0);
  });

  it('times HTTP requests by route pattern: no path, query, email address or token reaches a label', async () => {
    const email = seeded[0]!;
    const secret = 'Zt0kenThatMustNotLeak0123456789abcdefXYZ';
    expect((await request(t.url, `/admin/invites?q=${encodeURIComponent(email)}`, { apiToken: t.admin.apiToken })).status).toBe(200);
    expect((await request(t.url, `/admin/invites/${encodeURIComponent(email)}/resend`, { method: 'POST', body: {}, apiToken: t.admin.apiToken })).status).toBe(404);
    expect((await request(t.url, `/admin/invites`, { bearer: secret })).status).toBe(401);
    expect((await request(t.url, `/invite?token=${secret}`)).status).toBe(404);
    expect((await request(t.url, `/nothing/here/${encodeURIComponent(email)}`)).status).toBe(404);

    const { families, text } = await scrape(t.url);
    family(families, 'doorman_http_request_duration_seconds', 'HISTOGRAM');
    const count = (labels: Record<string, string>) => observed(text, 'doorman_http_request_duration_seconds', labels);
    expect(count({ route: '/admin/invites', method: 'GET', status: '200' })).toBe(1);
    expect(count({ route: '/admin/invites/:id/resend', method: 'POST', status: '404' })).toBe(1);
    expect(count({ route: '/admin/*', method: 'GET', status: '401' })).toBe(1);
    expect(count({ route: '/invite', method: 'GET', status: '404' })).toBe(1);
    expect(count({ route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(count({ route: '/metrics', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(2);
    for (const m of histogramSeries(text, 'doorman_http_request_duration_seconds', 'count')) expect(m.labels?.route).toMatch(/^(unmatched|\/[a-z/:*._-]*)$/);
    for (const leak of [...seeded, t.admin.email, secret, t.admin.apiToken, '%40']) expect(text).not.toContain(leak);
    expect(text).not.toContain('@');
  });
});

describe('GET /metrics: off, or guarded by a token', () => {
  let off: TestApp | undefined;
  let guarded: TestApp | undefined;
  afterAll(async () => {
    await off?.close();
    await guarded?.close();
  });

  it('off (the default): the route does not exist', async () => {
    off = await startTestApp('sqlite');
    expect(off.services.metrics).toBeUndefined();
    expect((await request(off.url, '/metrics')).status).toBe(404);
    expect((await request(off.url, '/healthz')).status).toBe(200);
  });

  it('METRICS=<token>: 401 without the token or with a wrong one; 200 with `Authorization: Bearer <token>`', async () => {
    guarded = await startTestApp('sqlite', { env: { METRICS: TOKEN } });
    const refused: Array<Record<string, string>> = [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { authorization: `Basic ${TOKEN}` }, { authorization: TOKEN }];
    for (const headers of refused) {
      const res = await request(guarded.url, '/metrics', { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.text).not.toContain('doorman_');
    }
    const { families } = await scrape(guarded.url, { authorization: `Bearer ${TOKEN}` });
    expect(value(families, 'doorman_invitations', 'GAUGE', { status: 'pending' })).toBe(0);
  });
});

describe.each(DIALECTS)('GET /metrics with Slack on (%s)', (dialect) => {
  let w: SlackWorld;
  beforeAll(async () => {
    w = await SlackWorld.start(dialect, { env: { METRICS: 'on' } });
  });
  afterAll(async () => {
    await w?.stop();
  });

  it("counts Slack's 429 as rate_limited, and times Slack's requests by type", async () => {
    // views.open answers 429 once: not waited out (the trigger would not outlive it), the person is told in a DM.
    w.api.fail('views.open', 429, { retryAfter: 1 });
    expect((await w.shortcut()).status).toBe(200);
    await w.api.waitFor(() => w.api.callsTo('chat.postMessage').find((c) => String(c.args.text).includes('did not open the form')), 8_000, 'the DM that the form did not open');
    // Again, and the form opens.
    expect((await w.shortcut()).status).toBe(200);
    await w.api.waitFor(() => w.api.callsTo('views.open').length === 1, 8_000, 'the invite modal');
    expect((await w.slash('help')).ack.status).toBe(200);

    // Bolt's middleware finishes when the listener does, just after Slack answered it.
    const timed = (text: string, type: string) => observed(text, 'doorman_slack_request_duration_seconds', { type });
    const { families, text } = await eventually(
      async () => {
        const scraped = await scrape(w.app.url);
        return timed(scraped.text, 'shortcut') === 2 && timed(scraped.text, 'command') === 1 && scraped;
      },
      5_000,
      'the shortcut and the command timed',
    );
    const call = (method: string, result: string) => value(families, 'doorman_slack_api_calls_total', 'COUNTER', { method, result });
    expect(call('views.open', 'rate_limited')).toBe(1);
    expect(call('views.open', 'ok')).toBe(1);
    expect(call('views.open', 'error')).toBeUndefined();
    // The token check at start-up went through the same client options.
    expect(call('auth.test', 'ok')).toBeGreaterThanOrEqual(1);

    expect(call('chat.postMessage', 'ok')).toBeGreaterThanOrEqual(1);
    family(families, 'doorman_slack_request_duration_seconds', 'HISTOGRAM');
    expect(observed(text, 'doorman_http_request_duration_seconds', { route: '/slack/events', method: 'POST', status: '200' })).toBe(3);
    expect(text).not.toContain('@');

    // Events and view submissions are told apart too.
    expect((await w.event({ type: 'app_home_opened', user: 'U0ADMIN', channel: 'D0', tab: 'home', event_ts: '1.2' })).status).toBe(200);
    expect((await w.submitInvite({ emails: 'someone@metrics.test' })).status).toBe(200);
    await eventually(
      async () => {
        const later = (await scrape(w.app.url)).text;
        return timed(later, 'event') === 1 && timed(later, 'view') === 1 && timed(later, 'other') === 0;
      },
      5_000,
      'the event and the view submission timed',
    );
  });

  it("counts Slack's refusals (ok: false) and failed answers as error", async () => {
    const metrics = w.services.metrics!;
    const slackApiUrl = `${w.api.url}/`;
    const refused = new webApi.WebClient('xoxb-not-the-token', { slackApiUrl, fetch: countingFetch(metrics, slackApiUrl), retryConfig: { retries: 0 } });
    await expect(refused.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    w.api.fail('users.info', 500);
    const failing = new webApi.WebClient(w.api.botToken, { slackApiUrl, fetch: countingFetch(metrics, slackApiUrl), retryConfig: { retries: 0 } });
    await expect(failing.users.info({ user: 'U0PLAIN' })).rejects.toMatchObject({ statusCode: 500 });

    const { families } = await scrape(w.app.url);
    expect(value(families, 'doorman_slack_api_calls_total', 'COUNTER', { method: 'auth.test', result: 'error' })).toBe(1);
    expect(value(families, 'doorman_slack_api_calls_total', 'COUNTER', { method: 'users.info', result: 'error' })).toBe(1);
  });
});
