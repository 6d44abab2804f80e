import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/shared/errors.js';
import { inviteEmailHandler } from '../../src/mail/invite-email.js';
import { MailPace, parseMailRate } from '../../src/mail/pace.js';
import { INVITE_EMAIL, InvitesService } from '../../src/invites/service.js';
import { claimDue } from '../../src/outbox/claims.js';
import { createTestDatabase, DIALECTS, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';

describe('MAIL_RATE', () => {
  it('reads a count per second, minute, hour or day, and refuses anything else naming the variable', () => {
    expect(parseMailRate('14/s')).toEqual({ count: 14, perMs: 1_000 });
    expect(parseMailRate('500/h')).toEqual({ count: 500, perMs: 3_600_000 });
    expect(parseMailRate('2000/d')).toEqual({ count: 2000, perMs: 86_400_000 });
    expect(parseMailRate(' 30 / m ')).toEqual({ count: 30, perMs: 60_000 });
    for (const bad of ['14', '0/s', '14/w', 'fast', '-1/s']) expect(parseMailRate(bad), bad).toBeUndefined();
    expect(() => loadConfig({ APP_SECRET: TEST_SECRET, DATA_DIR: '/tmp/doorman-rate', MAIL_RATE: '14 per second' })).toThrow(ConfigError);
    expect(loadConfig({ APP_SECRET: TEST_SECRET, DATA_DIR: '/tmp/doorman-rate' }).mailRate).toBeUndefined();
  });
});

describe('the pace\'s moments (sqlite)', () => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await test.destroy();
  });

  it.each([
    { count: 1, perMs: 1_000 },
    { count: 14, perMs: 1_000 },
    { count: 50, perMs: 1_000 },
  ])('at $count per $perMs ms: taken late, moments keep their cadence but are never closer than the rate allows', async (rate) => {
    const clock = new ManualClock(1_000_000);
    const pace = new MailPace(test.db, clock, rate);
    const exact = Math.ceil(rate.perMs / rate.count);
    const interval = Math.max(exact, Math.round((rate.perMs * 1.05) / rate.count));
    // What count intervals leave over the period, half of which a late moment may borrow.
    const margin = rate.count * interval - rate.perMs;
    const grace = Math.min(interval - exact, Math.floor(margin / 2));
    const taken: number[] = [];
    // Each sender comes back when told to, at times a little late (a timer, a round trip), within the grace.
    for (let i = 0; taken.length < 200; i++) {
      const answer = await pace.take();
      if (answer.ok) taken.push(clock.now());
      clock.advance(answer.ok ? 0 : answer.waitMs + (i % (grace + 1)));
    }
    const gaps = taken.slice(1).map((t, i) => t - taken[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(exact);
    // Any count + 1 moments span the period and at least half the margin, left for the hand-over's delay.
    for (let i = 0; i + rate.count < taken.length; i++) expect(taken[i + rate.count]! - taken[i]!).toBeGreaterThanOrEqual(rate.perMs + Math.ceil(margin / 2));
    let most = 0;
    for (let i = 0; i < taken.length; i++) most = Math.max(most, taken.filter((t) => t >= taken[i]! && t < taken[i]! + rate.perMs).length);
    expect(most).toBeLessThanOrEqual(rate.count);
    // The delays did not add up: 200 emails took no longer than 199 intervals.
    expect(taken.at(-1)! - taken[0]!).toBeLessThanOrEqual(interval * (taken.length - 1));
  });
});

describe.each(DIALECTS)('the pace\'s moments taken ahead (%s)', (dialect) => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    await test.destroy();
  });

  it('takes moments ahead of time one interval apart, however late each answer comes, and none further ahead than asked', async () => {
    const clock = new ManualClock(1_000_000);
    // 50 a second: moments 21 ms apart (20 and the 5% margin).
    const [a, b] = [new MailPace(test.db, clock, { count: 50, perMs: 1_000 }), new MailPace(test.db, clock, { count: 50, perMs: 1_000 })];
    const moments: number[] = [];
    for (const pace of [a, b, a, b, a]) {
      const answer = await pace.take(100);
      expect(answer.ok).toBe(true);
      if (answer.ok) moments.push(answer.atMs);
      // Answers come back late; the moments do not move with them.
      clock.advance(3);
    }
    // The first counts from a moment ago (the grace of 1 ms), each next one interval later.
    expect(moments).toEqual([999_999, 1_000_020, 1_000_041, 1_000_062, 1_000_083]);
    // Now 1_000_015: the next free moment, 1_000_104, is further ahead than 80 ms, within 100.
    expect(await b.take(80)).toEqual({ ok: false, waitMs: 89 });
    expect(await a.take(100)).toEqual({ ok: true, atMs: 1_000_104 });
  });

  it('waits for the moment it took, and takes another when it wakes too late for it (a stalled process)', async () => {
    let stall = 0;
    const clock = { now: () => Date.now() + stall };
    const pace = new MailPace(test.db, clock, { count: 50, perMs: 1_000 });
    const other = new MailPace(test.db, clock, { count: 50, perMs: 1_000 });
    const first = await pace.next(2_000);
    expect(first.ok && first.atMs).toBeLessThanOrEqual(clock.now());
    // The next two moments are another instance's; this one's is then three intervals on, and it waits for it.
    await other.take(2_000);
    await other.take(2_000);
    const second = await pace.next(2_000);
    expect(second.ok && first.ok && second.atMs - first.atMs).toBeGreaterThanOrEqual(63);
    expect(clock.now()).toBeGreaterThanOrEqual(second.ok ? second.atMs : Infinity);
    // Now the process stalls for 200 ms right after it took its moment (set at once, not by a timer
    // that a busy machine could fire after the moment): that moment is spent, and it hands over at
    // a new one instead.
    const take = pace.take.bind(pace);
    const asked: number[] = [];
    pace.take = async (aheadMs) => {
      const answer = await take(aheadMs);
      if (answer.ok) asked.push(answer.atMs);
      if (asked.length === 1) stall += 200;
      return answer;
    };
    await other.take(2_000);
    const third = await pace.next(2_000);
    // At least the stalled moment was passed over (a busy machine may stall it past another); the
    // one it used is the last it took, after the stall.
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(third).toEqual({ ok: true, atMs: asked.at(-1) });
    expect(asked.at(-1)!).toBeGreaterThan(asked[0]! + 100);
  });

  it('gives up, answering late, once it has woken too late for as many moments as it may take', async () => {
    let stall = 0;
    const clock = { now: () => Date.now() + stall };
    const pace = new MailPace(test.db, clock, { count: 50, perMs: 1_000 });
    const other = new MailPace(test.db, clock, { count: 50, perMs: 1_000 });
    const take = pace.take.bind(pace);
    const asked: number[] = [];
    // Every moment it takes is an interval ahead (another instance took the one now), and the
    // process stalls for 200 ms before it can wait for it.
    pace.take = async (aheadMs) => {
      await other.take(2_000);
      const answer = await take(aheadMs);
      if (answer.ok) asked.push(answer.atMs);
      stall += 200;
      return answer;
    };
    expect(await pace.next(2_000, { maxMoments: 3 })).toEqual({ ok: false, late: true });
    expect(asked).toHaveLength(3);
  });

  it('runs beforeMoment its lead before each moment it waits for, and a reason it answers ends the wait', async () => {
    const clock = { now: () => Date.now() };
    const pace = new MailPace(test.db, clock, { count: 10, perMs: 1_000 });
    const other = new MailPace(test.db, clock, { count: 10, perMs: 1_000 });
    await other.take();
    // This moment is an interval (105 ms) ahead: the hook runs 40 ms before it (not earlier; later
    // only on a busy machine), then the moment comes.
    const ran: Array<{ atMs: number; at: number }> = [];
    const moment = await pace.next(2_000, { beforeMoment: { leadMs: 40, run: async (atMs) => void ran.push({ atMs, at: clock.now() }) } });
    const answered = clock.now();
    expect(moment.ok).toBe(true);
    const atMs = (moment as { atMs: number }).atMs;
    expect(ran).toHaveLength(1);
    expect(ran[0]!.atMs).toBe(atMs);
    expect(ran[0]!.at).toBeGreaterThanOrEqual(atMs - 40);
    expect(answered).toBeGreaterThanOrEqual(Math.max(atMs, ran[0]!.at));
    // A reason from the hook: answered at once, without waiting for the moment.
    const waited: number[] = [];
    const waitUntil = pace.waitUntil.bind(pace);
    pace.waitUntil = (at) => (waited.push(at), waitUntil(at));
    let stoppedAt = 0;
    const stopped = await pace.next(2_000, { beforeMoment: { leadMs: 40, run: async (at) => ((stoppedAt = at), 'revoked meanwhile') } });
    expect(stopped).toEqual({ ok: false, stopped: 'revoked meanwhile' });
    expect(waited).toEqual([stoppedAt - 40]);
  });

  it('never gives two instances the same moment, nor two moments closer than the rate, when they ask at once', async () => {
    const clock = new ManualClock(2_000_000);
    const paces = [0, 1].map(() => new MailPace(test.db, clock, { count: 50, perMs: 1_000 }));
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => paces[i % 2]!.take(2_000)));
    const moments = answers.map((a) => (a.ok ? a.atMs : NaN)).sort((x, y) => x - y);
    expect(moments.every(Number.isFinite)).toBe(true);
    expect(Math.min(...moments.slice(1).map((m, i) => m - moments[i]!))).toBe(21);
  });
});

describe.each(DIALECTS)('an email read again before its moment (%s)', (dialect) => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    await test.destroy();
  });

  it('is not handed over late when the second read took it past its moment: it takes another moment', async () => {
    // A clock the test can push on while the second read runs (a busy database answering late).
    let offset = 0;
    const clock = { now: () => Date.now() + offset };
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * 86_400_000 });
    await invites.inviteMany({ emails: 'late.read@example.io', actor: { type: 'system' } });
    const [item] = await claimDue(test.db, { now: clock.now(), kinds: [INVITE_EMAIL], exclude: [], limit: 1, leaseMs: 60_000 });
    const pace = new MailPace(test.db, clock, { count: 1, perMs: 1_000 });
    // Someone else took the moment now: this email's moment is an interval (1,050 ms) ahead, far enough to read again.
    const first = await pace.take();
    expect(first.ok).toBe(true);
    let reads = 0;
    test.db.on('query', (q: { sql: string }) => {
      if (/from .invitations./i.test(q.sql) && ++reads === 2) offset += 200;
    });
    const sent: number[] = [];
    const transport = { kind: 'smtp' as const, send: async () => void sent.push(clock.now()), close: () => undefined };
    const handler = inviteEmailHandler(test.db, clock, invites.links, transport, { mailFrom: 'Doorman <no-reply@doorman.test>', orgName: 'Test', pace });
    expect(await handler.deliver(item!)).toEqual({ result: 'done' });
    expect(sent).toHaveLength(1);
    const since = sent[0]! - (first as { atMs: number }).atMs;
    expect(since).toBeGreaterThanOrEqual(2_100);
    // Handed over on time for the moment it used: within 25 ms (half the window's margin at 1/s).
    expect(since % 1_050).toBeLessThanOrEqual(25);
  }, 10_000);
});
