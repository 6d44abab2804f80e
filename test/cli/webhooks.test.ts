import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSecretProblem } from '../../src/webhooks/secrets.js';
import { inTransaction } from '../../src/db/index.js';
import { InvitesService } from '../../src/invites/service.js';
import { envEndpointId, recordAttempt } from '../../src/webhooks/endpoints.js';
import { WEBHOOK } from '../../src/webhooks/webhook-events.js';
import { createTestDatabase, DIALECTS, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { expectOneErrorLine } from '../support/cli-output.js';
import { runCliHere, servicesFor, stopServices, tempDataDir, type CliResult, type Env } from '../support/service.js';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';

const ENV_URL = 'https://hooks.example.com/doorman';

/** A refusal: exit code 1 and one "doorman:" line. */
const oneErrorLine = (result: CliResult) => expectOneErrorLine(result, 1);

describe.each(DIALECTS)('doorman webhooks (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let env: Env;
  const doorman = (args: string[], extra: Env = {}) => runCliHere(args, { ...env, ...extra });
  const storedCount = async () => Number(((await test.db('webhook_endpoints').count({ n: '*' })) as Array<{ n: string | number }>)[0]!.n);

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    env = { DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, WEBHOOK_URLS: ENV_URL, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET };
  });

  afterAll(async () => {
    await test.destroy();
    data.cleanup();
  });

  it('add stores an endpoint and shows its own secret once; bad input is refused and stores nothing', async () => {
    const added = await doorman(['webhooks', 'add', 'https://a.example/hooks', '--events', 'invite.created, invite.revoked']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toBe('');
    const id = /Added webhook endpoint (whep_\w+) for https:\/\/a\.example\/hooks \(invite\.created, invite\.revoked\)/.exec(added.stdout)?.[1];
    expect(id, added.stdout).toBeDefined();
    const secret = /Signing secret .*: (whsec_\S+)/.exec(added.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(webhookSecretProblem(secret!)).toBeUndefined();
    // Stored sealed: the database alone does not hold the secret.
    expect(JSON.stringify(await test.db('webhook_endpoints').select('*'))).not.toContain(secret!.slice('whsec_'.length));
    expect(await test.db('webhook_endpoints').where({ id }).first('url', 'events', 'state')).toEqual({ url: 'https://a.example/hooks', events: '["invite.created","invite.revoked"]', state: 'active' });

    const json = await doorman(['webhooks', 'add', 'http://b.example:8080/in', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe('Note: this endpoint is plain http; the events carry email addresses and names, so use https unless the network between is yours.\n');
    const parsed = JSON.parse(json.stdout) as { id: string; secret: string; events: null };
    expect(parsed.events).toBeNull();
    expect(parsed.secret).not.toBe(secret);
    expect(await storedCount()).toBe(2);

    const refused = await Promise.all([
      doorman(['webhooks', 'add', 'https://a.example/hooks']),
      doorman(['webhooks', 'add', 'https://c.example', '--events', 'invite.created,invite.exploded']),
      doorman(['webhooks', 'add', 'ftp://c.example']),
      doorman(['webhooks', 'add', ENV_URL]),
      doorman(['webhooks', 'add', 'https://hook:s3cret@d.example/in']),
    ]);
    expect(refused.map((r) => expectOneErrorLine(r))).toEqual([
      expect.stringMatching(/already an endpoint/),
      expect.stringMatching(/Unknown event type\(s\): invite\.exploded/),
      expect.stringMatching(/not an http:\/\/ or https:\/\/ URL/),
      expect.stringMatching(/already an endpoint by WEBHOOK_URLS/),
      expect.stringMatching(/^doorman: "https:\/\/\*\*\*@d\.example\/in" carries a user name or password/),
    ]);
    // An unknown event type is a mistake in the command, as a bad --expires is.
    expect(refused.map((r) => r.code)).toEqual([1, 2, 1, 1, 1]);
    expect(await storedCount()).toBe(2);
  }, 90_000);

  it('list shows every endpoint with its failures of the last 24 h, last error and last success, never a secret', async () => {
    const [stored] = (await test.db('webhook_endpoints').where({ url: 'https://a.example/hooks' })) as Array<{ id: string; secret: string }>;
    const now = Date.now();
    await inTransaction(test.db, async (trx) => {
      await recordAttempt(trx, stored!.id, now - 26 * 3_600_000, 'the endpoint answered 502');
      await recordAttempt(trx, stored!.id, now - 3_600_000);
      await recordAttempt(trx, stored!.id, now - 120_000, 'the endpoint answered 500');
      await recordAttempt(trx, stored!.id, now - 60_000, 'no answer within 15 s');
    });
    const listed = await doorman(['webhooks', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+URL\s+FROM\s+EVENTS\s+STATE\s+FAILURES 24H\s+LAST ERROR\s+LAST SUCCESS$/);
    const envLine = lines.find((l) => l.startsWith(envEndpointId(ENV_URL)))!;
    expect(envLine).toMatch(/WEBHOOK_URLS\s+all\s+active\s+0\s+-\s+never$/);
    const storedLine = lines.find((l) => l.startsWith(stored!.id))!;
    expect(storedLine).toMatch(/added\s+invite\.created,invite\.revoked\s+active\s+2\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC: no answer within 15 s\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(listed.stdout).not.toContain('whsec_');

    const json = await doorman(['webhooks', 'list', '--json']);
    const parsed = JSON.parse(json.stdout) as Array<{ id: string; health: { failuresLastDay: number; lastSuccessAt: string } }>;
    expect(parsed.map((e) => e.id)).toContain(stored!.id);
    expect(parsed.find((e) => e.id === stored!.id)!.health).toMatchObject({ failuresLastDay: 2, lastSuccessAt: new Date(now - 3_600_000).toISOString() });
    expect(json.stdout).not.toContain(stored!.secret);
  }, 60_000);

  it('remove takes an id or a URL; what was queued for a removed endpoint is dropped at delivery', async () => {
    const services = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, WEBHOOK_URLS: '', WEBHOOK_SECRET: '' }, { webhookEndpointsTtlMs: 0 });
    try {
      await services.invites.inviteMany({ emails: 'queued@example.io', actor: { type: 'system' } });
      // b.example takes every event; a.example only created/revoked: both have one queued.
      expect(Number(((await services.db('outbox').where({ kind: WEBHOOK, state: 'pending' }).count({ n: '*' })) as Array<{ n: string | number }>)[0]!.n)).toBe(2);
      const [b] = (await test.db('webhook_endpoints').where({ url: 'http://b.example:8080/in' })) as Array<{ id: string }>;
      const byId = await doorman(['webhooks', 'remove', b!.id]);
      expect(byId.code, byId.stderr).toBe(0);
      expect(byId.stdout).toContain(`Removed webhook endpoint ${b!.id} (http://b.example:8080/in)`);
      const byUrl = await doorman(['webhooks', 'remove', 'https://a.example/hooks']);
      expect(byUrl.code, byUrl.stderr).toBe(0);
      expect(await storedCount()).toBe(0);
      await services.webhooks.drain();
      const rows = (await services.db('outbox').where({ kind: WEBHOOK }).select('state', 'last_error')) as Array<{ state: string; last_error: string }>;
      expect(rows).toHaveLength(2);
      expect(rows.every((r) => r.state === 'cancelled' && r.last_error === 'the endpoint was removed')).toBe(true);
    } finally {
      await stopServices([services]);
    }
    expect(oneErrorLine(await doorman(['webhooks', 'remove', ENV_URL]))).toMatch(/comes from WEBHOOK_URLS; remove it there/);
    expect(oneErrorLine(await doorman(['webhooks', 'remove', 'whep_NOPE']))).toMatch(/No webhook endpoint with id whep_NOPE/);
    // On a terminal: one that is not there (or not removable here) is refused before anyone is asked.
    const asked = await runCliHere(['webhooks', 'remove', 'whep_NOPE'], env, { answers: ['y'] });
    expect(asked.stderr).not.toContain('[y/N]');
    expect(oneErrorLine(asked)).toMatch(/No webhook endpoint with id whep_NOPE/);
    expect((await runCliHere(['webhooks', 'remove', ENV_URL], env, { answers: ['y'] })).stderr).not.toContain('[y/N]');
  }, 90_000);

  it('sweep with Slack off serves the webhooks: an expiry becomes invite.expired, and no Slack DM is queued', async () => {
    const weekAgo = new InvitesService(test.db, { now: () => Date.now() - 8 * 86_400_000 }, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * 86_400_000 });
    await weekAgo.inviteMany({ emails: 'late@example.io', actor: { type: 'system' } });
    const result = await doorman(['sweep', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ expired: 1 });
    const rows = (await test.db('outbox').where({ kind: WEBHOOK }).select('payload')) as Array<{ payload: string }>;
    const types = rows.map((r) => (JSON.parse(r.payload) as { type: string; body: string })).filter((p) => p.body.includes('late@example.io')).map((p) => p.type);
    expect(types).toEqual(['invite.expired']);
    expect(await test.db('outbox').where({ kind: 'slack_notice' })).toEqual([]);
  }, 60_000);

  it('deliver without WEBHOOK_URLS leaves what is queued for those endpoints to a process that has them, instead of dropping it', async () => {
    // Only this test's deliveries are queued.
    await test.db('outbox').where({ kind: WEBHOOK, state: 'pending' }).update({ state: 'cancelled' });
    const receiver = await WebhookReceiver.start(TEST_WEBHOOK_SECRET);
    const withUrls = { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET };
    const pending = async () => (await test.db('outbox').where({ kind: WEBHOOK, state: 'pending' }).select('payload')).length;
    try {
      expect((await doorman(['invite', 'env-hook@example.io'], withUrls)).code).toBe(0);
      expect(await pending()).toBe(1);
      const bare = await doorman(['deliver'], { WEBHOOK_URLS: '', WEBHOOK_SECRET: '' });
      expect(bare.code, bare.stderr).toBe(0);
      expect(bare.stdout).toContain('1 item(s) stay queued');
      expect(receiver.received).toHaveLength(0);
      expect(await pending()).toBe(1);

      // The service (here: a deliver with its environment) sends it once the wait is over.
      await test.db('outbox').where({ kind: WEBHOOK, state: 'pending' }).update({ next_attempt_at: Date.now() });
      const served = await doorman(['deliver'], withUrls);
      expect(served.code, served.stderr).toBe(0);
      expect(served.stdout).toContain('Webhooks: 1 delivered');
      expect(receiver.bodies().map((b) => b.type)).toEqual(['invite.created']);
      expect(receiver.received.every((r) => r.verified)).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('a bad WEBHOOK_URLS stops the CLI with one line naming it', async () => {
    const result = await doorman(['webhooks', 'list'], { WEBHOOK_URLS: 'hooks.example.com' });
    expect(oneErrorLine(result)).toBe('doorman: WEBHOOK_URLS: "hooks.example.com" is not an http:// or https:// URL');
  });
});
