import { execFileSync } from 'node:child_process';
import nodemailer from 'nodemailer';
import { InvitesService } from '../../src/invites/service.js';
import { createLogger } from '../../src/logger.js';
import { inviteEmailHandler } from '../../src/mail/invite-email.js';
import { invitationEmail } from '../../src/mail/templates.js';
import { smtpTransport } from '../../src/mail/transport.js';
import { OutboxWorker } from '../../src/outbox/worker.js';
import { createTestDatabase, TEST_SECRET, type Dialect } from '../../test/support/db.js';
import type { ChildServer } from '../lib/children.js';
import type { BenchOptions } from '../lib/options.js';
import { median, round, stopwatch, type Lap, type SuiteResult } from '../lib/stats.js';

const TTL = 7 * 24 * 3_600_000;
const MAIL_FROM = 'Doorman <no-reply@doorman.bench>';
const ORG = 'Bench Org';
const MIN_PAIRS = 7;

/**
 * Writes out what the setup left in the page cache (the seeded tables, the bulk-insert suite's
 * databases, this run's queue) before a timed run: SQLite's checkpoints fsync, and behind hundreds
 * of MB of someone else's writeback one took long enough to stall the whole delivery.
 */
function settleDisk(): void {
  execFileSync('sync');
}

async function received(sink: ChildServer): Promise<number> {
  return (await sink.request<{ received: number }>('count')).received;
}

/** Plain nodemailer, pooled like Doorman's transport, sending identical invitation emails all at once. */
async function floorRun(sink: ChildServer, count: number): Promise<Lap> {
  const now = Date.now();
  const email = invitationEmail({ orgName: ORG, inviterName: 'Bench Admin', email: 'someone@bench.example', role: 'member', link: `http://doorman.bench/invite?token=${'x'.repeat(43)}`, expiresAt: now + TTL, now, reason: 'invite' });
  const transporter = nodemailer.createTransport({ url: sink.url, pool: true, maxConnections: 5, maxMessages: 500 } as Parameters<typeof nodemailer.createTransport>[0]);
  await sink.request('reset');
  settleDisk();
  const stop = stopwatch();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      transporter.sendMail({ from: MAIL_FROM, to: `floor${i}@bench.example`, ...email, messageId: `<floor.${now}.${i}@doorman.bench>` }),
    ),
  );
  const timed = stop();
  transporter.close();
  if ((await received(sink)) !== count) throw new Error('mail floor: not every message arrived');
  return timed;
}

/** Doorman's outbox worker and SMTP transport, as `npm start` wires them, delivering what invite-many queued. */
async function doormanRun(dialect: Dialect, sink: ChildServer, count: number): Promise<Lap> {
  const t = await createTestDatabase(dialect);
  const clock = { now: () => Date.now() };
  const invites = new InvitesService(t.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.bench', inviteTtlMs: TTL });
  const transport = smtpTransport(sink.url);
  const worker = new OutboxWorker(t.db, clock, createLogger('warn'), [inviteEmailHandler(t.db, clock, invites.links, transport, { mailFrom: MAIL_FROM, orgName: ORG })]);
  try {
    await invites.inviteMany({ emails: Array.from({ length: count }, (_, i) => `mail${i}@bench.example`), actor: { type: 'slack', slackUserId: 'U0ADMIN', name: 'Bench Admin' } });
    await sink.request('reset');
    settleDisk();
    const stop = stopwatch();
    const result = await worker.drain();
    const timed = stop();
    if (result.delivered !== count || (await received(sink)) !== count) throw new Error(`mail: delivered ${result.delivered}, received ${await received(sink)} of ${count}`);
    return timed;
  } finally {
    transport.close();
    await t.destroy();
  }
}

export async function mailSuite(options: BenchOptions, sink: ChildServer): Promise<SuiteResult> {
  const count = options.quick ? 100 : 2_000;
  // At least 7 pairs: a pair is quick, and on a shared machine either side's rate moves a lot from one
  // run to the next, so the median needs several (docs/benchmarks.md).
  const runs = options.quick ? 1 : Math.max(options.runs, MIN_PAIRS);
  const floorRuns: Lap[] = [];
  const doormanRuns: Lap[] = [];
  for (let run = 0; run < runs; run++) {
    floorRuns.push(await floorRun(sink, count));
    doormanRuns.push(await doormanRun(options.dialect, sink, count));
  }
  const floor = floorRuns.map((r) => r.ms);
  const doorman = doormanRuns.map((r) => r.ms);
  const cpuPerEmail = (timedRuns: Lap[]) => median(timedRuns.map((r) => (r.cpuMs / count) * 1000));
  const rate = (ms: number) => count / (ms / 1000);
  const ratio = rate(median(doorman)) / rate(median(floor));
  return {
    suite: 'mail',
    how: `${count.toLocaleString('en')} queued invitations delivered by the outbox worker to a local smtp-server (own process) against plain nodemailer pooled sends (5 connections) of identical messages; time until the server accepted the last one.`,
    runs,
    rows: [
      { metric: 'emails/s', floor: Math.round(rate(median(floor))), doorman: Math.round(rate(median(doorman))), ratio: round(ratio, 2), goal: '≥ 0.5× floor', pass: ratio >= 0.5 },
      { metric: 'time (ms)', floor: Math.round(median(floor)), doorman: Math.round(median(doorman)) },
      { metric: "the runner's CPU per email (µs, all threads)", floor: Math.round(cpuPerEmail(floorRuns)), doorman: Math.round(cpuPerEmail(doormanRuns)), ratio: round(cpuPerEmail(doormanRuns) / cpuPerEmail(floorRuns), 2) },
      { metric: "the runner's CPU time ÷ wall time (all threads)", floor: round(median(floorRuns.map((r) => r.cpuMs / r.ms)), 2), doorman: round(median(doormanRuns.map((r) => r.cpuMs / r.ms)), 2) },
    ],
    notes: [`Each pair, floor / Doorman (emails/s): ${floor.map((ms, i) => `${Math.round(rate(ms))} / ${Math.round(rate(doorman[i]!))}`).join(', ')}.`],
  };
}
