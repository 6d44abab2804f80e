import { configRefusal } from '../support/config.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { describePeriod, isTimeZone, latestPeriod, parseSchedule } from '../../src/report/schedule.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);

describe('REPORT_SCHEDULE', () => {
  it('reads a weekday name and HH:MM', () => {
    expect(parseSchedule('mon 09:00')).toEqual({ weekday: 1, hour: 9, minute: 0 });
    expect(parseSchedule(' Monday   9:30 ')).toEqual({ weekday: 1, hour: 9, minute: 30 });
    expect(parseSchedule('SUN 23:59')).toEqual({ weekday: 7, hour: 23, minute: 59 });
    expect(parseSchedule('fri 00:00')).toEqual({ weekday: 5, hour: 0, minute: 0 });
    expect(parseSchedule('wednes 12:00')).toEqual({ weekday: 3, hour: 12, minute: 0 });
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'mon', '09:00', 'mo 09:00', 'funday 09:00', 'mon 24:00', 'mon 09:60', 'mon 9', 'mon 09:00:00', 'mon,09:00', '1 09:00', 'monday-09:00']) {
      expect(parseSchedule(bad), bad).toBeUndefined();
    }
  });
});

describe('report configuration', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'doorman-report-config-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: dataDir, APP_SECRET: 'a-configured-secret-that-is-long-enough-0123456789', ...env });
  const refusal = (env: Record<string, string>) => configRefusal(() => load(env), JSON.stringify(env));


  it('is off without REPORT_SCHEDULE, in UTC without REPORT_TZ, to the admins without REPORT_CHANNEL', () => {
    expect(load({}).report).toBeUndefined();
    expect(load({}).reportTimeZone).toBe('UTC');
    expect(load({ REPORT_SCHEDULE: 'mon 09:00' }).report).toEqual({ schedule: { weekday: 1, hour: 9, minute: 0 }, channel: undefined });
    expect(load({ REPORT_SCHEDULE: 'tue 17:30', REPORT_TZ: 'Europe/Berlin', REPORT_CHANNEL: 'C0REPORTS' })).toMatchObject({
      reportTimeZone: 'Europe/Berlin',
      report: { schedule: { weekday: 2, hour: 17, minute: 30 }, channel: 'C0REPORTS' },
    });
    expect(load({ REPORT_SCHEDULE: 'mon 09:00', REPORT_CHANNEL: '#invitations' }).report?.channel).toBe('#invitations');
  });

  it('stops start-up with one line naming the variable', () => {
    const schedule = refusal({ REPORT_SCHEDULE: 'mondays at 9' });
    expect(schedule.variable).toBe('REPORT_SCHEDULE');
    expect(schedule.message).toBe('REPORT_SCHEDULE: "mondays at 9" is not a weekday and a time; use a weekday name and HH:MM (e.g. mon 09:00)');
    expect(refusal({ REPORT_SCHEDULE: 'mon 25:00' }).variable).toBe('REPORT_SCHEDULE');
    const zone = refusal({ REPORT_SCHEDULE: 'mon 09:00', REPORT_TZ: 'Mars/Olympus_Mons' });
    expect(zone.variable).toBe('REPORT_TZ');
    expect(zone.message).toMatch(/^REPORT_TZ: "Mars\/Olympus_Mons" is not an IANA time zone/);
    expect(refusal({ REPORT_TZ: 'CEST+2' }).variable).toBe('REPORT_TZ');
    expect(refusal({ REPORT_SCHEDULE: 'mon 09:00', REPORT_CHANNEL: 'https://slack.com/archives/C1' }).variable).toBe('REPORT_CHANNEL');
  });

  it('knows IANA zones through Intl', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Atlantis')).toBe(false);
  });
});

describe('the report’s week', () => {
  const monday9 = parseSchedule('mon 09:00')!;

  it('ends at the latest scheduled moment at or before now, and the week before ends where it starts', () => {
    const end = at('2026-11-30T09:00:00Z');
    const expected = { previousStart: end - 14 * DAY, start: end - 7 * DAY, end, timeZone: 'UTC' };
    expect(latestPeriod(monday9, 'UTC', end)).toEqual(expected);
    expect(latestPeriod(monday9, 'UTC', end + 2 * DAY + 5 * HOUR)).toEqual(expected);
    expect(latestPeriod(monday9, 'UTC', end + 7 * DAY - 1)).toEqual(expected);
    expect(latestPeriod(monday9, 'UTC', end - 1).end).toBe(end - 7 * DAY);
    // Sunday evening: still last Monday's week (ISO weeks start on Monday).
    expect(latestPeriod(monday9, 'UTC', at('2026-12-06T23:00:00Z')).end).toBe(end);
    expect(latestPeriod(parseSchedule('sun 18:00')!, 'UTC', at('2026-11-30T09:00:00Z')).end).toBe(at('2026-11-29T18:00:00Z'));
  });

  it('keeps the wall-clock time in REPORT_TZ', () => {
    // 09:00 in New York is 14:00 UTC in winter.
    expect(latestPeriod(monday9, 'America/New_York', at('2026-11-30T13:59:00Z')).end).toBe(at('2026-11-23T14:00:00Z'));
    expect(latestPeriod(monday9, 'America/New_York', at('2026-11-30T14:00:00Z')).end).toBe(at('2026-11-30T14:00:00Z'));
    // Monday 09:00 in Tokyo is still Sunday in UTC.
    expect(latestPeriod(monday9, 'Asia/Tokyo', at('2026-11-30T00:00:00Z')).end).toBe(at('2026-11-30T00:00:00Z'));
  });

  it('a week across the end of summer time in Europe/Berlin is 169 hours, every report at 09:00 local', () => {
    // Summer time ends Sunday 25 October 2026: 09:00 is 07:00 UTC before, 08:00 UTC after.
    const period = latestPeriod(monday9, 'Europe/Berlin', at('2026-10-26T08:30:00Z'));
    expect(period).toEqual({ previousStart: at('2026-10-12T07:00:00Z'), start: at('2026-10-19T07:00:00Z'), end: at('2026-10-26T08:00:00Z'), timeZone: 'Europe/Berlin' });
    expect(period.end - period.start).toBe(169 * HOUR);
    expect(describePeriod(period)).toBe('Mon 19 Oct 09:00 – Mon 26 Oct 09:00 (Europe/Berlin)');
    // At 07:30 UTC it is 08:30 in Berlin: the week before is still the latest.
    expect(latestPeriod(monday9, 'Europe/Berlin', at('2026-10-26T07:30:00Z')).end).toBe(at('2026-10-19T07:00:00Z'));
  });

  it('a week across the start of summer time is 167 hours, and a skipped time moves on past the gap', () => {
    const period = latestPeriod(monday9, 'Europe/Berlin', at('2026-03-30T07:00:00Z'));
    expect(period.start).toBe(at('2026-03-23T08:00:00Z'));
    expect(period.end).toBe(at('2026-03-30T07:00:00Z'));
    expect(period.end - period.start).toBe(167 * HOUR);
    // 02:30 does not exist on Sunday 29 March 2026 in Berlin (02:00 → 03:00): the report goes at 03:30 local.
    const night = parseSchedule('sun 02:30')!;
    expect(latestPeriod(night, 'Europe/Berlin', at('2026-03-29T12:00:00Z')).end).toBe(at('2026-03-29T01:30:00Z'));
    expect(latestPeriod(night, 'Europe/Berlin', at('2026-04-05T12:00:00Z')).start).toBe(at('2026-03-29T01:30:00Z'));
  });
});
