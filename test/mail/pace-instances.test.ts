import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.js';
import { systemClock } from '../../src/shared/clock.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { servicesFor, stopServices, tempDataDir } from '../support/service.js';
import { mostWithin, TestSmtpServer } from '../support/smtp.js';

/**
 * MAIL_RATE end to end, two instances sharing one database: what the SMTP server receives within a
 * second depends on how evenly each email crosses the machine, so this file runs alone
 * (vitest.config.ts), not beside suites that load both cores.
 */

describe.each(['sqlite', 'pg'] as const)('mail at the provider\'s pace, shared by two instances (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let smtp: TestSmtpServer;
  const open: Services[] = [];
  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    smtp = await TestSmtpServer.create();
  });
  afterEach(async () => {
    await stopServices(open);
    await smtp.stop();
    await test.destroy();
    data.cleanup();
  });

  it('never goes faster than MAIL_RATE in any second, however many instances deliver', async () => {
    const rate = 20;
    const instance = () => {
      const s = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, SMTP_URL: smtp.url, MAIL_RATE: `${rate}/s` }, { clock: systemClock, worker: { pollIntervalMs: 50 } });
      open.push(s);
      return s;
    };
    const [a, b] = [instance(), instance()];
    // When each email is handed to the SMTP client: the moments Doorman chooses.
    const handedOver: number[] = [];
    for (const s of [a, b]) {
      const send = s.mail.send.bind(s.mail);
      s.mail.send = (message) => {
        handedOver.push(Date.now());
        return send(message);
      };
    }
    const count = 60;
    await a.invites.inviteMany({ emails: Array.from({ length: count }, (_, i) => `paced${i}@example.io`), actor: { type: 'system' } });
    const started = Date.now();
    a.outbox.start();
    b.outbox.start();
    await smtp.waitFor(count, 15_000);
    const took = Date.now() - started;
    expect(handedOver).toHaveLength(count);
    expect(mostWithin(handedOver, 1_000)).toBeLessThanOrEqual(rate);
    // At the server the first emails wait for their connections to be set up (100–150 ms here, longer on a
    // busy machine) and arrive bunched; once the pool is up, a second holds the rate, give or take one
    // email's transport delay.
    const received = smtp.received.map((m) => m.receivedAt).sort((x, y) => x - y);
    expect(mostWithin(received.filter((t) => t >= received[0]! + 1_000), 1_000)).toBeLessThanOrEqual(rate + 1);
    // 60 at 20 a second: about three seconds, the first at once.
    expect(took).toBeGreaterThanOrEqual(2_800);
    expect(took).toBeLessThan(6_000);
    expect(new Set(smtp.received.map((m) => m.envelope.to[0])).size).toBe(count);
  }, 30_000);
});
