import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { freePort } from '../support/net.js';
import { runCli, ServiceProcess, tempDataDir, waitForHttp, type Env } from '../support/service.js';
import { eventually } from '../support/wait.js';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The real processes: the CLI queues events with its changes while no service runs; the service
 * started afterwards delivers them, signed; after a restart nothing is sent twice.
 */
describe.each(DIALECTS)('webhooks through the real service and CLI (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let fromEnv: WebhookReceiver;
  let added: WebhookReceiver;
  const services: ServiceProcess[] = [];

  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    fromEnv = await WebhookReceiver.start(TEST_WEBHOOK_SECRET);
    added = await WebhookReceiver.start();
  });

  afterEach(async () => {
    for (const s of services.splice(0)) await s.dispose();
    await fromEnv.close();
    await added.close();
    await test.destroy();
    data.cleanup();
  });

  it('events queued by the CLI arrive once each, verified, across a service restart', async () => {
    const port = await freePort();
    const env: Env = {
      PORT: String(port),
      DATABASE_URL: test.url,
      DATA_DIR: data.dir,
      APP_SECRET: TEST_SECRET,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      WEBHOOK_URLS: fromEnv.url,
      WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      LOG_LEVEL: 'info',
    };
    const cli = (args: string[]) => runCli(args, env, { timeoutMs: 60_000 });
    const add = await cli(['webhooks', 'add', added.url, '--json']);
    expect(add.code, add.stderr).toBe(0);
    added.secret = (JSON.parse(add.stdout) as { secret: string }).secret;
    const invited = await cli(['invite', 'ada@example.io', 'bob@example.io']);
    expect(invited.code, invited.stderr).toBe(0);

    const start = async () => {
      const service = new ServiceProcess(env);
      services.push(service);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, service, 30_000);
      return service;
    };
    const first = await start();
    await eventually(() => fromEnv.received.length >= 2 && added.received.length >= 2, 30_000, 'the queued events at both endpoints');
    first.kill('SIGTERM');
    expect((await first.waitForExit(20_000)).code).toBe(0);

    await start();
    const more = await cli(['invite', 'carol@example.io']);
    expect(more.code, more.stderr).toBe(0);
    // Carol's event comes after the first two in the queue: once it is in, anything resent would be too.
    await eventually(() => fromEnv.bodies().some((b) => JSON.stringify(b.data).includes('carol@')) && added.bodies().some((b) => JSON.stringify(b.data).includes('carol@')), 30_000, "carol's event at both endpoints");

    for (const receiver of [fromEnv, added]) {
      expect(receiver.received.map((r) => [r.verified, r.verifyError, r.status])).toEqual(Array.from({ length: 3 }, () => [true, undefined, 204]));
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(3);
      expect(receiver.bodies().map((b) => [b.type, (b.data.invitation as { email: string }).email]).sort()).toEqual([
        ['invite.created', 'ada@example.io'],
        ['invite.created', 'bob@example.io'],
        ['invite.created', 'carol@example.io'],
      ]);
    }
    const listed = await cli(['webhooks', 'list']);
    expect(listed.stdout).toMatch(/WEBHOOK_URLS\s+all\s+active\s+0\s+-\s+\d{4}-/);
  }, 180_000);
});
