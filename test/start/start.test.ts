import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InvitationRow } from '../../src/invites/model.js';
import { createTestDatabase, DIALECTS, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { runCli, ServiceProcess, tempDataDir, waitForHttp, type Env } from '../support/service.js';
import { freePort } from '../support/net.js';
import { TestSmtpServer } from '../support/smtp.js';

/** The service as operators run it: `node --import tsx src/main.ts`, configured by environment. */

const running: ServiceProcess[] = [];
const start = (env: Env) => {
  const service = new ServiceProcess(env);
  running.push(service);
  return service;
};

afterEach(async () => {
  for (const service of running.splice(0)) await service.dispose();
});

describe('start-up refuses a bad environment', () => {
  it('exits 1 with exactly one stderr line naming the variable', async () => {
    const data = tempDataDir();
    // A port somebody else holds, and a database nobody answers on.
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, () => resolve()));
    try {
      const cases: Array<[Env, string]> = [
        [{ PORT: 'abc' }, 'PORT'],
        [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
        [{ INVITE_TTL: '7x' }, 'INVITE_TTL'],
        [{ PORT: String((taken.address() as net.AddressInfo).port) }, 'PORT'],
        [{ DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/nowhere` }, 'DATABASE_URL'],
      ];
      // Three processes at a time at most: each loads the whole service, which a busy machine takes its time over.
      const services: Array<ReturnType<typeof start>> = [];
      const exits: Array<Awaited<ReturnType<ReturnType<typeof start>['waitForExit']>>> = [];
      for (const group of [cases.slice(0, 3), cases.slice(3)]) {
        const started = group.map(([env]) => start({ DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, ...env }));
        services.push(...started);
        exits.push(...(await Promise.all(started.map((s) => s.waitForExit(20_000)))));
      }
      cases.forEach(([, variable], i) => {
        const service = services[i]!;
        expect(exits[i], service.output()).toEqual({ code: 1, signal: null });
        const lines = service.stderr.filter(Boolean);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^doorman: cannot start: ${variable}: `));
        // Config errors stop before logging starts; later ones are also logged (as JSON, on stdout).
        if (i < 3) expect(service.stdout.filter(Boolean)).toEqual([]);
      });
      expect(services[1]!.stderr[0]).toContain('mysql://x');
      expect(services[3]!.stderr[0]).toMatch(/is already in use$/);
      expect(services[4]!.stderr[0]).toMatch(/^doorman: cannot start: DATABASE_URL: cannot use the database: .*ECONNREFUSED/);
    } finally {
      taken.close();
      data.cleanup();
    }
  }, 60_000);
});

describe.each(DIALECTS)('the running service (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let env: Env;

  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    env = { DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PORT: String(await freePort()), PUBLIC_URL: 'http://doorman.test' };
  });

  afterEach(async () => {
    for (const service of running.splice(0)) await service.dispose();
    await test.destroy();
    data.cleanup();
  });

  it('answers /healthz, says Slack is off and how to turn it on, and stops cleanly on SIGTERM', async () => {
    // Settings that need Slack are named, not silently ignored.
    const service = start({ ...env, AUDIT_CHANNEL: 'C0AUDIT01', SLACK_APPROVAL_CHANNEL: 'C0APPROVE', REPORT_SCHEDULE: 'mon 09:00', INVITE_TTL: '3d', EXPIRY_REMINDER: '72h' });
    const listening = await service.waitForLog(/^Doorman is listening on /);
    expect(listening).toMatchObject({ level: 30, port: Number(env.PORT), database: dialect, mail: 'file', slack: 'off' });

    const health = await waitForHttp(`http://127.0.0.1:${env.PORT}/healthz`, service);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });

    expect(service.logs().some((l) => /APP_SECRET/.test(String(l.msg)))).toBe(false);
    const slackOff = service.logs().find((l) => /^Slack is off:/.test(String(l.msg)));
    expect(slackOff?.msg).toContain('SLACK_BOT_TOKEN');
    expect(slackOff?.msg).toContain('SLACK_SIGNING_SECRET');
    const warned = service.logs().filter((l) => l.level === 40).map((l) => String(l.msg));
    expect(warned).toEqual([
      expect.stringMatching(/^REPORT_SCHEDULE is set but Slack is off/),
      'SLACK_APPROVAL_CHANNEL and AUDIT_CHANNEL are set but Slack is off: nothing is posted there until Slack is on',
      // A reminder that can never come for an invitation of the default expiry.
      'EXPIRY_REMINDER (3d) is not shorter than INVITE_TTL (3d), so only invitations given a longer expiry are ever reminded; set it shorter, or 0 to turn reminders off',
    ]);

    const sent = Date.now();
    service.kill('SIGTERM');
    expect(await service.waitForExit(5_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(5_000);
    const messages = service.logs().map((l) => l.msg);
    expect(messages).toContain('stopping');
    expect(messages.at(-1)).toBe('stopped');
    expect(service.stderr.filter(Boolean)).toEqual([]);
  });

  it('an APP_SECRET with a trailing newline (a secrets file) is used as given, with a warning', async () => {
    const service = start({ ...env, APP_SECRET: `${TEST_SECRET}\n` });
    await service.waitForLog(/^Doorman is listening on /);
    const warning = service.logs().find((l) => /APP_SECRET/.test(String(l.msg)));
    expect(warning).toMatchObject({ level: 40 });
    expect(String(warning!.msg)).toContain('used as given');
    service.kill('SIGTERM');
    expect((await service.waitForExit(5_000)).code).toBe(0);
  });

  it('a start without SMTP_URL on a database served with SMTP warns that it writes every queued email to files; one with it does not', async () => {
    const smtp = await TestSmtpServer.create();
    try {
      const withSmtp = start({ ...env, SMTP_URL: smtp.url });
      await withSmtp.waitForLog(/^Doorman is listening on /);
      withSmtp.kill('SIGTERM');
      expect((await withSmtp.waitForExit(5_000)).code).toBe(0);
      const without = start(env);
      await without.waitForLog(/^Doorman is listening on /);
      const warning = without.logs().find((l) => /^SMTP_URL is not set/.test(String(l.msg)));
      expect(warning, without.output()).toMatchObject({ level: 40 });
      expect(String(warning!.msg)).toContain("other instances' queued ones too");
      without.kill('SIGTERM');
      expect((await without.waitForExit(5_000)).code).toBe(0);
      // Files again: nothing to warn of.
      const again = start(env);
      await again.waitForLog(/^Doorman is listening on /);
      expect(again.logs().filter((l) => /SMTP_URL/.test(String(l.msg)))).toEqual([]);
      again.kill('SIGTERM');
      await again.waitForExit(5_000);
    } finally {
      await smtp.stop();
    }
  });

  it('METRICS=<token>: /metrics answers the token only, and the service still stops at once on SIGTERM', async () => {
    const token = 'start-test-metrics-token-0123';
    const service = start({ ...env, METRICS: token });
    expect(await service.waitForLog(/^Doorman is listening on /)).toMatchObject({ metrics: 'token' });
    const url = `http://127.0.0.1:${env.PORT}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    const scraped = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^doorman_invitations\{status="pending"\} 0$/m);

    service.kill('SIGTERM');
    expect(await service.waitForExit(5_000)).toEqual({ code: 0, signal: null });
    expect(service.stderr.filter(Boolean)).toEqual([]);
  });

  it('queued mail survives kill -9 during an SMTP outage and is delivered exactly once after restart', async () => {
    const smtp = await TestSmtpServer.create({ up: false });
    try {
      const withSmtp = { ...env, SMTP_URL: smtp.url };
      const first = start(withSmtp);
      await first.waitForLog(/^Doorman is listening on /);

      // An operator invites from the CLI while the service runs; SMTP is down.
      const invited = await runCli(['invite', 'one@example.io, two@example.io, three@example.io'], withSmtp);
      expect(invited.stdout.trim(), invited.stderr).toBe('3 invitations sent.');

      // The running service tries, fails, and shows it.
      const deadline = Date.now() + 10_000;
      let rows: InvitationRow[] = [];
      for (;;) {
        rows = await test.db<InvitationRow>('invitations');
        if (rows.every((r) => r.delivery_state === 'failing')) break;
        if (Date.now() > deadline) throw new Error(`delivery never failed: ${JSON.stringify(rows.map((r) => r.delivery_state))}\n${first.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(rows.every((r) => /ECONNREFUSED|connect/i.test(r.delivery_error ?? ''))).toBe(true);

      first.kill('SIGKILL');
      expect((await first.waitForExit()).signal).toBe('SIGKILL');

      // Killed between attempts, the emails wait for their backoff; killed during one (a busy
      // machine), that email also waits for the dead process's lease to run out.
      const held = await test.db('outbox').where({ kind: 'invite_email' }).select('next_attempt_at', 'locked_until');
      const freeAt = Math.max(...held.map((r: { next_attempt_at: number | string; locked_until: number | string | null }) => Math.max(Number(r.next_attempt_at), Number(r.locked_until ?? 0))));
      await smtp.start();
      const second = start(withSmtp);
      await second.waitForLog(/^Doorman is listening on /);
      await smtp.waitFor(3, Math.max(0, freeAt - Date.now()) + 20_000);
      // A little longer, to see that nothing comes twice.
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      const counts = smtp.countByMessageId();
      expect(counts.size).toBe(3);
      expect([...counts.values()]).toEqual([1, 1, 1]);
      expect(smtp.received.map((m) => m.envelope.to[0]).sort()).toEqual(['one@example.io', 'three@example.io', 'two@example.io']);
      for (const mail of smtp.received) expect(mail.link).toMatch(/^http:\/\/doorman\.test\/invite\?token=/);

      const after = await test.db<InvitationRow>('invitations');
      expect(after.map((r) => r.delivery_state)).toEqual(['sent', 'sent', 'sent']);

      second.kill('SIGTERM');
      expect((await second.waitForExit(5_000)).code).toBe(0);
    } finally {
      await smtp.stop();
    }
  }, 180_000);
});
