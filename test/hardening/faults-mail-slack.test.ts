import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DIALECTS, ManualClock, TEST_SECRET } from '../support/db.js';
import { captureLogger, SlackWorld } from '../support/slack-world.js';
import { TestSmtpServer } from '../support/smtp.js';
import { fastTempDir, report, until } from './support.js';

/**
 * Faults on the way out. SMTP answering 4xx, 5xx, dropping the line mid-DATA, hanging (released
 * server-side, and once for real until the client's socket timeout, SMTP_TIMEOUT=3s here): every email arrives once
 * when the server recovers. Slack's Web API answering 429, 500, or not answering until the
 * client's 10 s timeout: every notice arrives once.
 */

/** A clock that runs with real time but can be moved forward (expiry without waiting a week). */
class RunningClock extends ManualClock {
  private offset = 0;
  override now(): number {
    return Date.now() + this.offset;
  }
  override advance(ms: number): void {
    this.offset += ms;
  }
}

const FAST_RETRY = { pollIntervalMs: 50, backoffBaseMs: 100, backoffMaxMs: 400 };

describe('SMTP faults', () => {
  const figures: Record<string, unknown> = {};
  afterAll(() => report('faults-smtp', figures));

  it('4xx, 5xx, dropped mid-DATA, hung: each email delivered exactly once on recovery, or marked refused for good', async () => {
    const smtp = await TestSmtpServer.create();
    const tmp = fastTempDir('doorman-smtp-');
    const log = captureLogger('warn');
    const config = loadConfig({ PORT: '0', DATA_DIR: tmp.dir, DATABASE_URL: `sqlite://${tmp.dir}/d.sqlite3`, APP_SECRET: TEST_SECRET, SMTP_URL: smtp.url, PUBLIC_URL: 'http://doorman.test' });
    const app = await startApp(config, log.logger, { worker: FAST_RETRY });
    try {
      smtp.fail(
        { kind: 'reply', at: 'data', code: 451, times: 4 },
        { kind: 'reply', at: 'rcpt', code: 450, times: 3 },
        { kind: 'reply', at: 'data', code: 554, times: 3 },
        { kind: 'drop', times: 4 },
        { kind: 'hang', at: 'data', times: 2 },
      );
      const emails = Array.from({ length: 40 }, (_, i) => `smtp${i}@corp.test`);
      await app.services.invites.inviteMany({ emails, actor: { type: 'system' } });
      // Let the faults bite, then release the hung sessions (as a server that recovers would).
      await until(() => smtp.attempts >= 12, 20_000, 'the faulty attempts');
      await new Promise((r) => setTimeout(r, 500));
      smtp.clearFaults();
      // A 554 to DATA is a refusal for good: those three are marked refused and not tried again.
      await smtp.waitFor(37, 30_000);
      await until(async () => Number((await app.services.db('outbox').where({ state: 'pending' }).count<{ n: number }[]>({ n: '*' }))[0]!.n) === 0, 20_000, 'the outbox to settle');
      const states = await app.services.db('invitations').select('email', 'delivery_state');
      const refused = states.filter((s: { delivery_state: string }) => s.delivery_state === 'refused').map((s: { email: string }) => s.email);
      expect(refused).toHaveLength(3);
      for (const email of emails) expect(smtp.to(email), email).toHaveLength(refused.includes(email) ? 0 : 1);
      expect(smtp.received).toHaveLength(37);
      expect(states.filter((s: { delivery_state: string }) => s.delivery_state === 'sent')).toHaveLength(37);
      Object.assign(figures, { emails: 40, smtpAttempts: smtp.attempts, faultsInjected: 16, delivered: smtp.received.length, refused: refused.length, duplicates: smtp.received.length - new Set(smtp.received.map((m) => m.messageId)).size, lost: 40 - smtp.received.length - refused.length });
    } finally {
      await app.stop();
      await smtp.stop();
      tmp.cleanup();
    }
  }, 90_000);

  it.concurrent('a server that hangs at the greeting is cut off by the client timeout (SMTP_TIMEOUT) and the email still arrives once', async () => {
    const smtp = await TestSmtpServer.create();
    const tmp = fastTempDir('doorman-smtp-');
    const config = loadConfig({ PORT: '0', DATA_DIR: tmp.dir, DATABASE_URL: `sqlite://${tmp.dir}/d.sqlite3`, APP_SECRET: TEST_SECRET, SMTP_URL: smtp.url, SMTP_TIMEOUT: '3s', PUBLIC_URL: 'http://doorman.test' });
    const app = await startApp(config, captureLogger('warn').logger, { worker: FAST_RETRY });
    try {
      smtp.fail({ kind: 'hang', at: 'greeting', times: 1 });
      const started = Date.now();
      await app.services.invites.inviteMany({ emails: 'hung@corp.test', actor: { type: 'system' } });
      await smtp.waitFor(1, 60_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(smtp.to('hung@corp.test')).toHaveLength(1);
      figures.greetingHangRecoveredAfterMs = Date.now() - started;
    } finally {
      await app.stop();
      await smtp.stop();
      tmp.cleanup();
    }
  }, 90_000);
});

/** A pass-through proxy to the Web API stand-in that holds the first `hold` chat.postMessage calls unanswered (and never forwards them). */
async function holdingProxy(target: string, hold: number): Promise<{ url: string; held: number; stop(): Promise<void> }> {
  const state = { held: 0 };
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    if (req.url?.endsWith('/chat.postMessage') && state.held < hold) {
      state.held++;
      req.resume();
      return; // never answered: the client's timeout has to end it
    }
    const upstream = new URL(target);
    const forward = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(forward);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
    get held() {
      return state.held;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.each(DIALECTS)('Slack Web API faults (%s)', (dialect) => {
  it.concurrent('429, 500 and a timeout on chat.postMessage: each expiry notice delivered exactly once', async () => {
    const clock = new RunningClock();
    let proxy: Awaited<ReturnType<typeof holdingProxy>> | undefined;
    const s = await SlackWorld.start(dialect, { app: { clock, worker: FAST_RETRY }, env: { EXPIRY_REMINDER: '0', EXPIRY_SWEEP_INTERVAL: '1h' } });
    try {
      // The app reaches the Web API through a proxy that leaves the first chat.postMessage unanswered.
      proxy = await holdingProxy(s.api.url, 1);
      await s.restart({ env: { SLACK_API_URL: proxy.url } });
      // Three inviters with Slack users, so three notices; each fault hits one of them.
      const inviters = ['U0INV1', 'U0INV2', 'U0INV3'];
      for (const [i, user] of inviters.entries()) {
        s.api.users.set(user, { email: `inviter${i}@corp.test`, name: `Inviter ${i}` });
        await s.app.services.invites.inviteMany({ emails: [`n${i}a@corp.test`, `n${i}b@corp.test`], actor: { type: 'slack', slackUserId: user, name: `Inviter ${i}` } });
      }
      await until(() => s.smtp.received.length >= 6, 15_000, 'the invitation emails');
      s.api.fail('chat.postMessage', 429, { retryAfter: 1, times: 2 });
      s.api.fail('chat.postMessage', 500, { times: 2 });
      clock.advance(8 * 86_400_000);
      const swept = await s.sweep();
      expect(swept.notices).toBe(3);
      s.app.services.slackOutbox.wake();
      const posted = () => s.api.callsTo('chat.postMessage').filter((c) => inviters.includes(c.args.channel));
      await until(() => posted().length >= 3, 40_000, 'three notices');
      await new Promise((r) => setTimeout(r, 1_500));
      const byRecipient = new Map<string, number>();
      for (const call of posted()) byRecipient.set(call.args.channel, (byRecipient.get(call.args.channel) ?? 0) + 1);
      expect(Object.fromEntries(byRecipient)).toEqual({ U0INV1: 1, U0INV2: 1, U0INV3: 1 });
      const left = await s.db.db('outbox').where({ kind: 'slack_notice' }).whereNot({ state: 'done' });
      expect(left).toEqual([]);
      // Nothing else was refused: the faults were the only failures.
      expect(s.api.rejected()).toEqual([]);
      report(`faults-slack-${dialect}`, {
        notices: 3,
        delivered: posted().length,
        faults: { '429': s.api.calls.filter((c) => c.error === 'ratelimited').length, '500': s.api.calls.filter((c) => c.error === 'internal_error').length, timeouts: proxy!.held },
        lost: 3 - byRecipient.size,
        duplicates: posted().length - byRecipient.size,
      });
    } finally {
      await s.stop();
      await proxy?.stop();
    }
  }, 90_000);
});
