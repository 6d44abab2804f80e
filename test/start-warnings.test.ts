import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { requireServiceSecret } from '../src/app-secret.js';
import { recordServedWith, requireServedWith } from '../src/served-with.js';
import { createTestDatabase, TEST_SECRET, type TestDatabase } from './support/db.js';
import { tempDataDir } from './support/service.js';
import { captureLogger } from './support/slack-world.js';
import { TEST_WEBHOOK_SECRET } from './support/webhook-receiver.js';

/** What a start says about settings that work but are likely a mistake. */
describe('start-up warnings', () => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  beforeEach(async () => {
    test = await createTestDatabase('sqlite');
    data = tempDataDir();
  });
  afterEach(async () => {
    await test.destroy();
    data.cleanup();
  });

  const warningsOfAStart = async (env: Record<string, string>, before?: () => Promise<void>) => {
    await before?.();
    const log = captureLogger('warn');
    const app = await startApp(loadConfig({ PORT: '0', DATA_DIR: data.dir, DATABASE_URL: test.url, APP_SECRET: TEST_SECRET, PUBLIC_URL: 'http://doorman.test', ...env }), log.logger, { runWorker: false });
    await app.stop();
    return log.entries().map((e) => String(e.msg));
  };

  it('several WEBHOOK_URLS share one secret: each receiver could sign the others\' events', async () => {
    const two = await warningsOfAStart({ WEBHOOK_URLS: 'https://a.example/in,https://b.example/in', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });
    expect(two.filter((msg) => msg.startsWith('WEBHOOK_URLS lists several endpoints that share WEBHOOK_SECRET'))).toHaveLength(1);
    const one = await warningsOfAStart({ WEBHOOK_URLS: 'https://a.example/in', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });
    expect(one.filter((msg) => msg.startsWith('WEBHOOK_URLS'))).toEqual([]);
  });

  it('a WEBHOOK_URLS endpoint over plain http off this machine: the payloads carry addresses', async () => {
    const plain = await warningsOfAStart({ WEBHOOK_URLS: 'http://hooks.example/in', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });
    expect(plain.filter((msg) => msg.startsWith('WEBHOOK_URLS sends events (email addresses, names) over plain http'))).toHaveLength(1);
    for (const quiet of ['https://hooks.example/in', 'http://localhost:8080/in', 'http://127.0.0.1:9000/in']) {
      const said = await warningsOfAStart({ WEBHOOK_URLS: quiet, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });
      expect(said.filter((msg) => msg.startsWith('WEBHOOK_URLS')), quiet).toEqual([]);
    }
  });

  it('a start without Slack on a database last served with it says so once; the next start without it does not', async () => {
    expect((await warningsOfAStart({})).filter((msg) => msg.startsWith('Slack is off here'))).toEqual([]);
    // As an instance with Slack leaves it (its own start needs Slack's API).
    const withSlack = () => recordServedWith(test.db, { publicUrl: 'http://doorman.test', mail: 'file', mailRate: 'none', slack: { on: true, adminUserIds: ['U0BOOT'] } }, Date.now()).then(() => undefined);
    const after = await warningsOfAStart({}, withSlack);
    expect(after.filter((msg) => msg.startsWith('Slack is off here, but this database was last served with Slack'))).toHaveLength(1);
    expect((await warningsOfAStart({})).filter((msg) => msg.startsWith('Slack is off here'))).toEqual([]);
  });

  it('a start that fails (its port taken) leaves what the CLI checks as the running service recorded it', async () => {
    const config = (env: Record<string, string>) => loadConfig({ DATA_DIR: data.dir, DATABASE_URL: test.url, APP_SECRET: TEST_SECRET, PUBLIC_URL: 'http://doorman.test', PORT: '0', ...env });
    const running = await startApp(config({}), captureLogger('warn').logger, { runWorker: false });
    try {
      const other = 'another-secret-of-at-least-thirty-two-characters';
      const port = String(new URL(running.url).port);
      await expect(startApp(config({ PORT: port, APP_SECRET: other, SMTP_URL: 'smtp://127.0.0.1:2525' }), captureLogger('warn').logger, { runWorker: false })).rejects.toThrow(/EADDRINUSE/);
      await expect(requireServiceSecret(test.db, TEST_SECRET)).resolves.toBeUndefined();
      await expect(requireServiceSecret(test.db, other)).rejects.toThrow(/APP_SECRET/);
      await expect(requireServedWith(test.db, { mail: 'file' })).resolves.toBeUndefined();
    } finally {
      await running.stop();
    }
  });
});
