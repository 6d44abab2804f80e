import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weeklyFigures } from '../../src/report/figures.js';
import { latestPeriod, parseSchedule } from '../../src/report/schedule.js';
import { weeklyReportText } from '../../src/report/text.js';
import { createTestDatabase, DIALECTS, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { runCliHere, tempDataDir, type Env } from '../support/service.js';
import { DAY, END, seedHistory } from './history.js';

/** `doorman report --week` (the function the binary runs) on the seeded history. */
describe.each(DIALECTS)('doorman report --week (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let env: Env;
  const doorman = (args: string[], extra: Env = {}) => runCliHere(args, { ...env, ...extra });

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    env = { DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET };
    await seedHistory(test.db);
  });
  afterAll(async () => {
    await test?.destroy();
    data?.cleanup();
  });

  it('prints the figures the Slack report gives, for the week up to the latest scheduled moment', async () => {
    const expected = weeklyReportText(await weeklyFigures(test.db, latestPeriod(parseSchedule('mon 09:00')!, 'UTC', END), 7 * DAY));
    const result = await doorman(['report', '--week', '--at', '2026-12-02T15:00Z'], { REPORT_SCHEDULE: 'mon 09:00' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(expected);
    expect(result.stdout).toContain('Sent                               9  (last week 7)');
    expect(result.stdout).toContain('  old1@alpha.test, invited by Ada Admin 6 days ago');
  });

  it('without REPORT_SCHEDULE, the 7 days up to now; --json gives the figures for scripts', async () => {
    const plain = await doorman(['report', '--week', '--at', '2026-11-30T09:00Z']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.split('\n')[0]).toBe('Weekly invitations report, Mon 23 Nov 09:00 – Mon 30 Nov 09:00 (UTC)');
    const json = await doorman(['report', '--week', '--json', '--at', '2026-11-30T10:00+01:00'], { REPORT_TZ: 'Europe/Berlin' });
    expect(json.code, json.stderr).toBe(0);
    const figures = JSON.parse(json.stdout);
    // Moments print as ISO 8601 in UTC, as the admin API writes them.
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(figures.period).toEqual({ previousStart: iso(END - 14 * DAY), start: iso(END - 7 * DAY), end: iso(END), timeZone: 'Europe/Berlin' });
    expect(figures.week.sent).toBe(9);
    expect(figures.previousWeek.pendingOverThreeDays).toBe(5);
    // Without an offset, the moment is REPORT_TZ's wall clock (10:00 in Berlin is 09:00 UTC), whatever the machine's zone.
    const local = await doorman(['report', '--week', '--json', '--at', '2026-11-30T10:00'], { REPORT_TZ: 'Europe/Berlin', TZ: 'America/New_York' });
    expect(local.code, local.stderr).toBe(0);
    expect(JSON.parse(local.stdout).period).toEqual(figures.period);
  });

  it('bad input gets one clear line and changes nothing', async () => {
    const badTime = await doorman(['report', '--week', '--at', 'last monday']);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/--at.*must be a date and time like 2026-11-30T09:00Z/);
    const badZone = await doorman(['report', '--week'], { REPORT_TZ: 'Europe/Atlantis' });
    expect(badZone.code).toBe(1);
    expect(badZone.stderr).toBe('doorman: REPORT_TZ: "Europe/Atlantis" is not an IANA time zone (like Europe/Berlin or America/New_York)\n');
    expect(await test.db('report_runs').count<{ n: number | string }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(0);
  });
});
