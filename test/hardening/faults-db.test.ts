import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/index.js';
import { migrate } from '../../src/db/migrations.js';
import { createLogger } from '../../src/logger.js';
import { DIALECTS, TEST_SECRET } from '../support/db.js';
import { restartTestPostgres } from '../support/embedded-pg.js';
import { request, startTestApp } from '../support/http.js';
import { childEnv, ROOT, ServiceProcess, waitForHttp } from '../support/service.js';
import { ADMIN, SlackWorld } from '../support/slack-world.js';
import { freePort } from '../support/net.js';
import { TestSmtpServer } from '../support/smtp.js';
import { fastTempDir, pool, report, sleep, until } from './support.js';

/**
 * Database faults: two processes writing one SQLite file at once; PostgreSQL restarted under a
 * running service; a 1,000-address batch killed with SIGKILL part-way; the Slack door while
 * another process holds the write lock.
 */

const figures: Record<string, unknown> = {};
afterAll(() => report('faults-db', figures));

describe('database faults', () => {
  it.concurrent('SQLite busy: the service and a second process write at once, and no request fails', async () => {
    const tmp = fastTempDir('doorman-busy-');
    const smtp = await TestSmtpServer.create();
    const port = await freePort();
    const env = { DATA_DIR: tmp.dir, DATABASE_URL: `sqlite://${tmp.dir}/busy.sqlite3`, APP_SECRET: TEST_SECRET, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, SMTP_URL: smtp.url, LOG_LEVEL: 'warn' };
    // The second writer: Doorman's own services in this process, on the same file.
    const local = createServices(loadConfig(env), createLogger('silent'), { runWorker: false });
    await migrate(local.db);
    const { apiToken } = await local.members.create({ email: 'ada@corp.test', role: 'admin', withApiToken: true }, { type: 'system' });
    const service = new ServiceProcess(env);
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, service, 30_000);
      let localWrites = 0;
      const writer = (async () => {
        for (let i = 0; i < 60; i++) {
          await local.invites.inviteMany({ emails: Array.from({ length: 20 }, (_, j) => `cli${i}-${j}@corp.test`), actor: { type: 'system' } });
          localWrites++;
        }
      })();
      const answers = await pool(Array.from({ length: 200 }, (_, i) => i), 16, (i) =>
        request(`http://127.0.0.1:${port}`, '/admin/invites', { apiToken, body: { user: `api${i}@corp.test`, role: 'member' } }),
      );
      await writer;
      const failed = answers.filter((a) => a.status !== 200);
      expect(failed.map((a) => `${a.status} ${a.text}`)).toEqual([]);
      expect(await local.db('invitations').where('email', 'like', 'api%').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 200 }]);
      figures.sqliteBusy = { serviceRequests: 200, failed: failed.length, secondProcessBatches: localWrites, secondProcessInvitations: localWrites * 20 };
    } finally {
      await service.dispose();
      await local.db.destroy();
      local.mail.close();
      await smtp.stop();
      tmp.cleanup();
    }
  }, 90_000);

  it.concurrent('PostgreSQL restarted during work: /healthz comes back to 200 and requests succeed, without restarting the service', async () => {
    const t = await startTestApp('pg');
    try {
      const before = await request(t.url, '/admin/invites', { apiToken: t.admin.apiToken, body: { user: 'before@corp.test', role: 'member' } });
      expect(before.status).toBe(200);
      // Keep traffic going while the database goes away and comes back.
      let stop = false;
      const during: number[] = [];
      const traffic = (async () => {
        for (let i = 0; !stop; i++) {
          const a = await request(t.url, '/admin/invites', { apiToken: t.admin.apiToken, body: { user: `during${i}@corp.test`, role: 'member' } }).catch(() => ({ status: 0 }));
          during.push(a.status);
          await sleep(20);
        }
      })();
      await sleep(200);
      const restartStarted = Date.now();
      // The embedded server of a fresh machine's run, or the machine's cluster.
      restartTestPostgres();
      const restartMs = Date.now() - restartStarted;
      const healthy = await until(async () => (await request(t.url, '/healthz')).status === 200, 20_000, '/healthz back to 200');
      const recoveredMs = Date.now() - restartStarted;
      await sleep(300);
      stop = true;
      await traffic;
      // After recovery, every request succeeds.
      const after = await pool(Array.from({ length: 20 }, (_, i) => i), 5, (i) => request(t.url, '/admin/invites', { apiToken: t.admin.apiToken, body: { user: `after${i}@corp.test`, role: 'member' } }));
      expect(after.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect((await request(t.url, '/admin/invites?limit=5', { apiToken: t.admin.apiToken })).status).toBe(200);
      figures.pgRestart = { healthy, restartMs, recoveredMs, requestsDuring: during.length, failedDuring: during.filter((s) => s !== 200).length, requestsAfter: 20, failedAfter: after.filter((a) => a.status !== 200).length };
    } finally {
      await t.close();
    }
  }, 120_000);

  it.concurrent('SIGKILL during a 1,000-address batch: after restart it is all there or not at all, and each invitation gets exactly one email', async () => {
    const tmp = fastTempDir('doorman-kill-');
    const smtp = await TestSmtpServer.create();
    const env = { DATA_DIR: tmp.dir, DATABASE_URL: `sqlite://${tmp.dir}/kill.sqlite3`, APP_SECRET: TEST_SECRET, SMTP_URL: smtp.url, PUBLIC_URL: 'http://doorman.test', LOG_LEVEL: 'silent' };
    const local = createServices(loadConfig(env), createLogger('silent'), { runWorker: false });
    await migrate(local.db);
    const emails = Array.from({ length: 1000 }, (_, i) => `batch${i}@corp.test`);
    const count = async () => Number((await local.db('invitations').count<{ n: number }[]>({ n: '*' }))[0]!.n);
    const outcomes: number[] = [];
    try {
      // Kill the CLI at different moments; each time the batch is all there or not at all.
      for (const delay of [150, 400, 700, 900, 1200, 1600]) {
        if ((await count()) === 1000) break;
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'invite', '-'], { cwd: ROOT, env: childEnv(env), stdio: ['pipe', 'ignore', 'ignore'] });
        child.stdin.end(emails.join('\n'));
        const exited = new Promise((r) => child.on('close', r));
        await sleep(delay);
        child.kill('SIGKILL');
        await exited;
        const n = await count();
        outcomes.push(n);
        expect([0, 1000]).toContain(n);
        const outbox = Number((await local.db('outbox').count<{ n: number }[]>({ n: '*' }))[0]!.n);
        const audit = Number((await local.db('audit_log').where({ action: 'invite' }).count<{ n: number }[]>({ n: '*' }))[0]!.n);
        expect(outbox).toBe(n);
        expect(audit).toBe(n);
      }
      // "Restart": run the batch to the end if no kill left it complete, then deliver.
      if ((await count()) < 1000) await local.invites.inviteMany({ emails, actor: { type: 'system' } });
      expect(await count()).toBe(1000);
      await local.outbox.drain();
      await smtp.waitFor(1000, 60_000);
      const perAddress = new Map<string, number>();
      for (const mail of smtp.received) for (const to of mail.envelope.to) perAddress.set(to, (perAddress.get(to) ?? 0) + 1);
      expect(perAddress.size).toBe(1000);
      expect([...perAddress.values()].every((n) => n === 1)).toBe(true);
      figures.sigkillBatch = { kills: outcomes.length, countsAfterKill: outcomes, invitations: 1000, emails: smtp.received.length, duplicates: smtp.received.length - perAddress.size, lost: 1000 - perAddress.size };
    } finally {
      await local.db.destroy();
      local.mail.close();
      await smtp.stop();
      tmp.cleanup();
    }
  }, 150_000);
});

/**
 * The database slow to take a write (another process holds the write lock for a few seconds: on
 * SQLite a second writer such as the CLI's `invite -` of a big batch, on PostgreSQL a long
 * transaction): Slack's requests are still answered within its 3 seconds, and nothing fails.
 */
describe.each(DIALECTS)('the Slack door while another process holds the write lock (%s)', (dialect) => {
  const HOLD_MS = 4_500;

  it('invite <list> and a modal submission are acknowledged within 3 s, store each invitation once, and log no error', async () => {
    const w = await SlackWorld.start(dialect, { logLevel: 'warn' });
    const other = createDb(w.db.config);
    try {
      await w.slash('invites', ADMIN); // the asker is known, so only the write waits
      // The review is stored before the lock is taken; its Send comes while the lock is held.
      const review = await w.submitInvite({ emails: 'slow-modal@corp.test' });
      const draftId = (review.json as { view: { private_metadata: string } }).view.private_metadata;
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const holding = other.transaction(async (trx) => {
        // SQLite: createDb's transactions begin IMMEDIATE (the write lock). PostgreSQL: writers to invitations wait.
        if (dialect === 'pg') await trx.raw('LOCK TABLE invitations IN EXCLUSIVE MODE');
        else await trx('slack_dedupe').where({ key: '' }).delete();
        locked();
        await sleep(HOLD_MS);
      });
      await lockTaken;
      const started = Date.now();
      const [command, modal, form] = await Promise.all([w.slash('invite slow-cmd@corp.test', ADMIN), w.sendReview(draftId), w.submitInvite({ emails: 'later-form@corp.test' })]);
      await holding;
      // Both stored once, whatever the ack said.
      await until(async () => (await w.db.db('invitations').whereIn('email', ['slow-cmd@corp.test', 'slow-modal@corp.test'])).length === 2, 10_000, 'the two invitations');
      await sleep(300);
      figures[`slackWhileLocked-${dialect}`] = { holdMs: HOLD_MS, commandAck: { status: command.ack.status, ms: Math.round(command.ack.ms) }, modalAck: { status: modal.status, ms: Math.round(modal.ms) }, errorLines: w.log.errors().map((e) => e.msg) };
      expect(await w.db.db('invitations').whereIn('email', ['slow-cmd@corp.test', 'slow-modal@corp.test']).pluck('email')).toHaveLength(2);
      expect(Date.now() - started).toBeGreaterThan(HOLD_MS - 500);
      expect({ status: command.ack.status, inTime: command.ack.ms < 3_000 }).toEqual({ status: 200, inTime: true });
      expect({ status: modal.status, inTime: modal.ms < 3_000 }).toEqual({ status: 200, inTime: true });
      // A form submitted meanwhile: on PostgreSQL its draft is stored (the lock is on invitations);
      // on SQLite it waits for the write lock, and the form asks to be submitted again, in time.
      expect({ status: form.status, inTime: form.ms < 3_000 }).toEqual({ status: 200, inTime: true });
      if (dialect === 'sqlite') expect((form.json as { errors?: Record<string, string> }).errors?.emails).toMatch(/busy/);
      else expect((form.json as { response_action: string }).response_action).toBe('update');
      expect(w.log.errors().map((e) => e.msg)).toEqual([]);
      // The person is told what was done: in the ack, or on the response_url once the write went through.
      const told = await until(() => w.api.responsesTo(command.responseId).find((r) => /Sent 1 invitation/.test(JSON.stringify(r.body))), 10_000, 'the summary of the command');
      expect(told).toBeDefined();
    } finally {
      await other.destroy();
      await w.stop();
    }
  }, 60_000);
});
