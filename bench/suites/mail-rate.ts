import type { Services } from '../../src/app.js';
import { systemClock } from '../../src/shared/clock.js';
import { createTestDatabase, type Dialect } from '../../test/support/db.js';
import { servicesFor, stopServices, tempDataDir } from '../../test/support/service.js';
import { mostWithin, TestSmtpServer } from '../../test/support/smtp.js';
import type { BenchOptions } from '../lib/options.js';
import { round, type ResultRow, type SuiteResult } from '../lib/stats.js';

interface Paced {
  /** First to last hand-over to the SMTP client (ms). */
  tookMs: number;
  mostHandedOverInASecond: number;
  mostReceivedInASecond: number;
}

/** `count` emails queued at once, delivered by `instances` workers on one database under MAIL_RATE. */
async function pacedRun(dialect: Dialect, instances: number, rate: number, count: number): Promise<Paced> {
  const test = await createTestDatabase(dialect);
  const data = tempDataDir();
  const smtp = await TestSmtpServer.create();
  const running: Services[] = [];
  try {
    const handedOver: number[] = [];
    for (let i = 0; i < instances; i++) {
      const s = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, SMTP_URL: smtp.url, MAIL_RATE: `${rate}/s` }, { clock: systemClock, worker: { pollIntervalMs: 50 } });
      running.push(s);
      // When each email is handed to the SMTP client: the moments Doorman chooses.
      const send = s.mail.send.bind(s.mail);
      s.mail.send = (message) => {
        handedOver.push(Date.now());
        return send(message);
      };
    }
    await running[0]!.invites.inviteMany({ emails: Array.from({ length: count }, (_, i) => `paced${i}@bench.example`), actor: { type: 'system' } });
    for (const s of running) s.outbox.start();
    await smtp.waitFor(count, Math.max(30_000, (count / rate) * 3_000));
    // Each address once: a duplicate would have let the count be reached with one still missing.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const addresses = new Set(smtp.received.flatMap((m) => m.envelope.to));
    if (smtp.received.length !== count || addresses.size !== count) throw new Error(`mail rate: ${smtp.received.length} emails to ${addresses.size} addresses, for ${count} invitations`);
    return {
      tookMs: Math.max(...handedOver) - Math.min(...handedOver),
      mostHandedOverInASecond: mostWithin(handedOver, 1_000),
      mostReceivedInASecond: mostWithin(smtp.received.map((m) => m.receivedAt), 1_000),
    };
  } finally {
    await stopServices(running);
    await smtp.stop();
    await test.destroy();
    data.cleanup();
  }
}

/** MAIL_RATE=50/s: 500 emails in 10 s ± 10%, never more than 50 in any second, with one and with two instances. */
export async function mailRateSuite(options: BenchOptions): Promise<SuiteResult> {
  const rate = 50;
  const count = options.quick ? 100 : 500;
  const expectedMs = ((count - 1) / rate) * 1_000;
  const rows: ResultRow[] = [];
  for (const instances of [1, 2]) {
    const run = await pacedRun(options.dialect, instances, rate, count);
    const within = Math.abs(run.tookMs - expectedMs) <= expectedMs * 0.1;
    const who = instances === 1 ? 'one instance' : 'two instances';
    rows.push(
      { metric: `${who}: ${count} emails, first to last (s)`, floor: round(expectedMs / 1000, 2), doorman: round(run.tookMs / 1000, 2), ratio: round(run.tookMs / expectedMs, 2), goal: '10 s ± 10%', pass: within },
      { metric: `${who}: most handed over in any second`, doorman: run.mostHandedOverInASecond, goal: `≤ ${rate}`, pass: run.mostHandedOverInASecond <= rate },
      { metric: `${who}: most received in any second`, doorman: run.mostReceivedInASecond },
    );
  }
  return {
    suite: 'mail rate',
    how: `MAIL_RATE=${rate}/s, ${count} emails queued at once and delivered through the outbox to an in-process SMTP server, by one worker and then by two workers (two instances, each its own database connection) on the same database; the floor is the ideal (count − 1) ÷ rate.`,
    runs: 1,
    rows,
    notes: [
      'Handed over: when Doorman gives an email to the SMTP client (the moments the shared budget hands out). Received: when the server has it; a new connection\'s set-up can bring the first few closer together there.',
    ],
  };
}
