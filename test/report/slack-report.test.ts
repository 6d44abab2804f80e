import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { weeklyReport } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logger.js';
import { storedReport } from '../../src/report/runs.js';
import { weeklyReportMessage } from '../../src/slack/blocks/weekly-report.js';
import { DIALECTS, TEST_SECRET } from '../support/db.js';
import { ADMIN, ADMIN2, BOT_TOKEN, eventually, LINKED, pause, SIGNING_SECRET, SlackWorld } from '../support/slack-world.js';
import { DAY, END, HOUR, seedHistory } from './history.js';

const WEEK = 7 * DAY;
const CHANNEL = 'C0REPORTS';

/**
 * The weekly report through the real service: the job started with Slack, the outbox and the Slack
 * notice handler, against the strict Web API stand-in (which refuses Block Kit over Slack's limits).
 */
describe.each(DIALECTS)('the weekly report in Slack (%s)', (dialect) => {
  let h: SlackWorld;
  const reports = () => h.api.callsTo('chat.postMessage').filter((c) => String(c.args.text).startsWith('Weekly invitations report'));

  /** Waits for `count` report messages, moving the clock on meanwhile: DMs to one admin are paced a second apart (expiry notices go to them too). */
  const waitForReports = async (count: number) => {
    for (let i = 0; i < 100 && reports().length < count; i++) {
      h.clock.advance(1_000);
      await pause(100);
    }
    await pause(300);
    expect(reports()).toHaveLength(count);
  };

  beforeAll(async () => {
    h = await SlackWorld.start(dialect, {
      channels: [CHANNEL],
      logLevel: 'warn',
      // The history's inviter, who hears of its invitations (known before the app can tell them).
      users: { U0INVITER: { email: 'inviter@corp.test', name: 'History Inviter' } },
      beforeStart: async (db, clock) => {
        await seedHistory(db.db);
        // The history's emails count as delivered: only the report is for Slack here.
        await db.db('outbox').update({ state: 'done', done_at: END });
        clock.current = END + 3 * HOUR;
      },
    });
  });
  afterAll(async () => {
    // not_in_channel: a REPORT_CHANNEL without the bot, on purpose.
    expect(h.api.rejected('not_in_channel')).toEqual([]);
    await h.stop();
  });

  it('without REPORT_CHANNEL, DMs the week’s report to each admin once', async () => {
    expect(reports()).toEqual([]);
    await h.restart({ env: { REPORT_SCHEDULE: 'mon 09:00' } });
    await waitForReports(3);
    const sent = reports();
    expect(sent.map((c) => c.args.channel).sort()).toEqual([ADMIN, ADMIN2, LINKED].sort());
    const figures = await storedReport(h.db.db, END);
    expect(figures?.period.end).toBe(END);
    const expected = weeklyReportMessage(figures!);
    for (const call of sent) {
      expect(call.args.text).toBe('Weekly invitations report: 9 sent, 4 accepted');
      expect(call.args.blocks).toEqual(expected.blocks);
    }
    expect(JSON.stringify(sent[0]!.args.blocks)).toContain('*Acceptance rate:* 33%  _(last week 29%)_');
  });

  it('a restart in the same week sends nothing; after weeks down, only the latest missed week goes out, once', async () => {
    await h.restart();
    // The job's own look after a start, run here so that "nothing" is an answer, not a look not yet taken.
    expect(await weeklyReport(h.services)!.run()).toBeUndefined();
    await pause(500);
    expect(reports()).toHaveLength(3);
    await h.app.stop();
    h.clock.current = END + 3 * WEEK + DAY;
    await h.restart();
    await waitForReports(6);
    expect(reports().slice(3).map((c) => c.args.channel).sort()).toEqual([ADMIN, ADMIN2, LINKED].sort());
    const periods = (await h.db.db('report_runs').orderBy('period_end').pluck('period_end')) as Array<number | string>;
    expect(periods.map(Number)).toEqual([END, END + 3 * WEEK]);
    await h.restart();
    expect(await weeklyReport(h.services)!.run()).toBeUndefined();
    await pause(500);
    expect(reports()).toHaveLength(6);
  });

  it('with REPORT_CHANNEL, posts once to the channel; a Slack outage delays it, never drops it', async () => {
    // Only the report's posts fail: the weeks skipped also set off expiry DMs, which must not take the faults.
    h.api.fail('chat.postMessage', 500, { times: 2, channel: CHANNEL });
    h.clock.current = END + 4 * WEEK + HOUR;
    await h.restart({ env: { REPORT_CHANNEL: CHANNEL } });
    await eventually(async () => (await h.notices()).some((n) => n.payload.recipient === CHANNEL && n.attempts >= 1 && n.last_error), 10_000, 'a failed first try');
    expect(reports()).toHaveLength(6);
    for (let i = 0; i < 40 && reports().length < 7; i++) {
      h.clock.advance(30_000);
      await pause(150);
    }
    await waitForReports(7);
    const posted = reports().slice(6);
    expect(posted.map((c) => c.args.channel)).toEqual([CHANNEL]);
    expect(posted[0]!.args.text).toMatch(/^Weekly invitations report: \d+ sent, \d+ accepted$/);
    // The report itself met Slack's 500 and was tried again by the outbox.
    const tries = h.api.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === CHANNEL);
    expect(tries.filter((c) => !c.ok).length).toBeGreaterThanOrEqual(1);
    expect(tries.filter((c) => c.ok)).toHaveLength(1);
  });

  it('a REPORT_CHANNEL Slack refuses (archived): the report waits for the operator, with one warning naming the fix, and is posted once mended', async () => {
    h.api.refuse('chat.postMessage', 'is_archived', { channel: CHANNEL, times: 2 });
    const before = reports().length;
    h.clock.advance(WEEK);
    await h.restart({ env: { REPORT_CHANNEL: CHANNEL } });
    const waiting = await eventually(async () => (await h.notices()).find((n) => n.payload.recipient === CHANNEL && /is_archived/.test(n.last_error ?? '')), 10_000, 'the refused report');
    expect(waiting.state).toBe('pending');
    expect(h.log.entries().filter((e) => String(e.msg).startsWith('REPORT_CHANNEL')).map((e) => e.msg)).toEqual([
      `REPORT_CHANNEL: ${CHANNEL} is archived; unarchive it or name another channel; the weekly report waits until it can be posted`,
    ]);
    // Tried again a minute later (refused once more, no second warning within the hour), then posted.
    h.clock.advance(61_000);
    await eventually(() => h.api.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === CHANNEL && c.error === 'is_archived').length === 2, 10_000, 'the second try');
    expect(reports()).toHaveLength(before);
    h.clock.advance(61_000);
    await waitForReports(before + 1);
    expect(reports().slice(before).map((c) => c.args.channel)).toEqual([CHANNEL]);
    expect(h.log.entries().filter((e) => String(e.msg).startsWith('REPORT_CHANNEL'))).toHaveLength(1);
  });

  it('a REPORT_CHANNEL named #like-this the bot is not in waits too; corrected, the waiting report goes to the channel named now', async () => {
    h.api.addChannel('C0OLDREP', { name: 'old-reports' });
    const before = reports().length;
    h.clock.advance(WEEK);
    await h.restart({ env: { REPORT_CHANNEL: '#old-reports' } });
    const waiting = await eventually(async () => (await h.notices()).find((n) => n.payload.recipient === '#old-reports' && /not_in_channel/.test(n.last_error ?? '')), 10_000, 'the refused report');
    expect(waiting.state).toBe('pending');
    await h.restart({ env: { REPORT_CHANNEL: CHANNEL } });
    h.clock.advance(61_000);
    await waitForReports(before + 1);
    expect(reports().slice(before).map((c) => c.args.channel)).toEqual([CHANNEL]);
    expect((await h.notices()).find((n) => n.id === waiting.id)).toMatchObject({ state: 'cancelled', last_error: expect.stringContaining(`REPORT_CHANNEL is no longer #old-reports, so it was queued for ${CHANNEL}`) });
  });
});

describe('two instances starting together on one PostgreSQL', () => {
  it('both schedulers look at once; the week’s report reaches each admin exactly once', async () => {
    const h = await SlackWorld.start('pg', {
      users: { U0INVITER: { email: 'inviter@corp.test', name: 'History Inviter' } },
      beforeStart: async (db, clock) => {
        await seedHistory(db.db);
        await db.db('outbox').update({ state: 'done', done_at: END });
        clock.current = END + 3 * HOUR;
      },
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'doorman-second-'));
    const config = loadConfig({
      PORT: '0',
      DATA_DIR: dir,
      DATABASE_URL: h.db.url,
      APP_SECRET: TEST_SECRET,
      SMTP_URL: h.smtp.url,
      PUBLIC_URL: 'http://doorman.test',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: h.api.url,
      SLACK_ADMIN_USER_IDS: `${ADMIN},${ADMIN2}`,
      REPORT_SCHEDULE: 'mon 09:00',
    });
    const reports = () => h.api.callsTo('chat.postMessage').filter((c) => String(c.args.text).startsWith('Weekly invitations report'));
    let second: Awaited<ReturnType<typeof startApp>> | undefined;
    try {
      // The world's instance restarts with the schedule while a second one starts beside it.
      [, second] = await Promise.all([
        h.restart({ env: { REPORT_SCHEDULE: 'mon 09:00' } }),
        startApp(config, createLogger('silent'), { clock: h.clock, worker: { pollIntervalMs: 50 } }),
      ]);
      for (let i = 0; i < 100 && reports().length < 3; i++) {
        h.clock.advance(1_000);
        await pause(100);
      }
      await pause(1_000);
      expect(reports().map((c) => c.args.channel).sort()).toEqual([ADMIN, ADMIN2, LINKED].sort());
      expect((await h.db.db('report_runs').pluck('period_end')).map(Number)).toEqual([END]);
      expect(h.api.rejected()).toEqual([]);
    } finally {
      await second?.stop();
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
