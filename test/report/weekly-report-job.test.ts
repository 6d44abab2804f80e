import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { adminRecipients, WeeklyReport, type WeeklyReportSettings } from '../../src/jobs/weekly-report.js';
import { storedReport } from '../../src/report/runs.js';
import { MembersService } from '../../src/members/service.js';
import type { NoticePayload } from '../../src/notices/queue.js';
import { weeklyFigures } from '../../src/report/figures.js';
import { latestPeriod, parseSchedule } from '../../src/report/schedule.js';
import { InvitesService } from '../../src/invites/service.js';
import { createTestDatabase, DIALECTS, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { DAY, END, HOUR, seedHistory } from './history.js';

const WEEK = 7 * DAY;
const settings = (extra: Partial<WeeklyReportSettings> = {}): WeeklyReportSettings => ({
  schedule: parseSchedule('mon 09:00')!,
  timeZone: 'UTC',
  bootstrapAdmins: ['U0BOOT1', 'U0BOOT2'],
  inviteTtlMs: WEEK,
  ...extra,
});

async function queuedReports(db: Db): Promise<Array<Extract<NoticePayload, { notice: 'weekly_report' }>>> {
  const rows = (await db('outbox').where({ kind: 'slack_notice' }).orderBy('id').select('payload')) as Array<{ payload: string }>;
  return rows.map((r) => JSON.parse(r.payload) as NoticePayload).filter((p): p is Extract<NoticePayload, { notice: 'weekly_report' }> => p.notice === 'weekly_report');
}

describe.each(DIALECTS)('the weekly report job (%s)', (dialect) => {
  let test: TestDatabase;
  let clock: ManualClock;

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    ({ clock } = await seedHistory(test.db));
    const members = new MembersService(test.db, clock);
    const system = { type: 'system' } as const;
    await members.create({ email: 'lin@corp.test', role: 'admin', slackUserId: 'U0LINKADM' }, system);
    await members.create({ email: 'boss@corp.test', role: 'admin', slackUserId: 'U0BOOT2' }, system);
    await members.create({ email: 'pat@corp.test', role: 'member', slackUserId: 'U0PLAIN' }, system);
    const gone = await members.create({ email: 'gone@corp.test', role: 'admin', slackUserId: 'U0GONE' }, system);
    await members.deactivate(gone.member.id, system);
  });
  afterAll(async () => {
    await test?.destroy();
  });

  it('DMs the bootstrap admins and the active admin members with a Slack user, each once', async () => {
    expect(await adminRecipients(test.db, ['U0BOOT1', 'U0BOOT2'])).toEqual(['U0BOOT1', 'U0BOOT2', 'U0LINKADM']);
  });

  it('queues the week’s report once, with its figures kept for delivery; later runs in the same week do nothing', async () => {
    const job = new WeeklyReport(test.db, clock, settings());
    expect(clock.now()).toBe(END + 3 * HOUR);
    expect(await job.run()).toEqual({ periodEnd: END, recipients: ['U0BOOT1', 'U0BOOT2', 'U0LINKADM'] });
    expect(await queuedReports(test.db)).toEqual(['U0BOOT1', 'U0BOOT2', 'U0LINKADM'].map((recipient) => ({ notice: 'weekly_report', recipient, periodEnd: END })));
    const stored = await storedReport(test.db, END);
    expect(stored?.week.sent).toBe(9);
    expect(stored?.previousWeek.sent).toBe(7);
    clock.advance(3 * DAY);
    expect(await job.run()).toBeUndefined();
    expect(await queuedReports(test.db)).toHaveLength(3);
  });

  it('after weeks down, sends the latest missed week once, and never the older ones', async () => {
    const job = new WeeklyReport(test.db, clock, settings({ channel: 'C0REPORTS' }));
    // Down over three scheduled moments; back on the Wednesday after the third.
    clock.current = END + 3 * WEEK + 2 * DAY;
    expect(await job.run()).toEqual({ periodEnd: END + 3 * WEEK, recipients: ['C0REPORTS'] });
    expect(await job.run()).toBeUndefined();
    const runs = (await test.db('report_runs').orderBy('period_end').select('period_end', 'period_start', 'recipients')) as Array<Record<string, unknown>>;
    expect(runs.map((r) => [Number(r.period_end), Number(r.period_start), Number(r.recipients)])).toEqual([
      [END, END - WEEK, 3],
      [END + 3 * WEEK, END + 2 * WEEK, 1],
    ]);
    expect((await queuedReports(test.db)).slice(3)).toEqual([{ notice: 'weekly_report', recipient: 'C0REPORTS', periodEnd: END + 3 * WEEK }]);
  });

  it('two instances racing on one database: each period claimed by exactly one run', async () => {
    // Separate connection pools, as two service processes have.
    const dbs = [createDb(test.config), createDb(test.config)];
    try {
      const jobs = dbs.map((db) => new WeeklyReport(db, clock, settings()));
      const before = (await queuedReports(test.db)).length;
      for (let week = 4; week <= 7; week++) {
        clock.current = END + week * WEEK + 1;
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => jobs[i % 2]!.run()));
        const claimed = results.filter((r) => r !== undefined);
        expect(claimed, `week ${week}`).toEqual([{ periodEnd: END + week * WEEK, recipients: ['U0BOOT1', 'U0BOOT2', 'U0LINKADM'] }]);
      }
      const reports = (await queuedReports(test.db)).slice(before);
      expect(reports).toHaveLength(4 * 3);
      expect(new Set(reports.map((r) => `${r.periodEnd}:${r.recipient}`)).size).toBe(12);
      expect(Number((await test.db('report_runs').count<{ n: number | string }[]>({ n: '*' }))[0]!.n)).toBe(6);
    } finally {
      await Promise.all(dbs.map((db) => db.destroy()));
    }
  });
});

describe.each(DIALECTS)('the weekly report job, with nobody to send to and with history changed since (%s)', (dialect) => {
  let test: TestDatabase;
  let clock: ManualClock;
  let ids: Record<string, string>;

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    ({ clock, ids } = await seedHistory(test.db));
  });
  afterAll(async () => {
    await test?.destroy();
  });

  it('with nobody to send it to, claims nothing and says so once; an admin linked later that week still gets it', async () => {
    const job = new WeeklyReport(test.db, clock, settings({ bootstrapAdmins: [] }));
    expect(await job.run()).toEqual({ periodEnd: END, recipients: [] });
    expect(await job.run()).toBeUndefined();
    expect(await test.db('report_runs').select('period_end')).toEqual([]);
    clock.advance(DAY);
    await new MembersService(test.db, clock).create({ email: 'late-admin@corp.test', role: 'admin', slackUserId: 'U0LATEADM' }, { type: 'system' });
    expect(await job.run()).toEqual({ periodEnd: END, recipients: ['U0LATEADM'] });
    expect(await queuedReports(test.db)).toEqual([{ notice: 'weekly_report', recipient: 'U0LATEADM', periodEnd: END }]);
  });

  it('gives last week as last week’s report did, though what it was drawn from changed since', async () => {
    const job = new WeeklyReport(test.db, clock, settings({ bootstrapAdmins: [] }));
    const reported = (await storedReport(test.db, END))!;
    // fail1's email failed last week; resent this week, it now counts as this week's (the row keeps
    // only its last send), so last week rebuilt from the rows has one delivery problem fewer.
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: WEEK });
    await invites.resend(ids.fail1!, { type: 'system' });
    clock.current = END + WEEK + HOUR;
    const rebuilt = await weeklyFigures(test.db, latestPeriod(parseSchedule('mon 09:00')!, 'UTC', clock.now()), WEEK);
    expect(rebuilt.previousWeek.deliveryProblems).toBe(reported.week.deliveryProblems - 1);
    expect(await job.run()).toEqual({ periodEnd: END + WEEK, recipients: ['U0LATEADM'] });
    expect((await storedReport(test.db, END + WEEK))!.previousWeek).toEqual(reported.week);
  });
});
