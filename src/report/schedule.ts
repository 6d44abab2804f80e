import { DateTime } from 'luxon';
import { DAY_MS } from '../shared/clock.js';

/** REPORT_SCHEDULE: a weekday and a wall-clock time in REPORT_TZ (e.g. `mon 09:00`). */
export interface WeeklySchedule {
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  hour: number;
  minute: number;
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

/** `mon 09:00`, `Monday 9:30`, `fri 17:00` → a schedule; undefined when it is not one. */
export function parseSchedule(value: string): WeeklySchedule | undefined {
  const match = /^([a-z]+)\s+(\d{1,2}):(\d{2})$/i.exec(value.trim());
  if (!match) return undefined;
  const name = match[1]!.toLowerCase();
  const index = WEEKDAYS.findIndex((day) => name.length >= 3 && day.startsWith(name));
  const hour = Number(match[2]);
  const minute = Number(match[3]);
  if (index < 0 || hour > 23 || minute > 59) return undefined;
  return { weekday: index + 1, hour, minute };
}

/** Whether the runtime knows this IANA time zone (Intl throws a RangeError for one it does not). */
export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/**
 * A report's week and the one before it, as epoch milliseconds: `[previousStart, start)` and
 * `[start, end)`. Weeks run from one scheduled moment to the next, so a week with a DST change
 * is 167 or 169 hours long and every report goes out at the same wall-clock time.
 */
export interface ReportPeriod {
  previousStart: number;
  start: number;
  end: number;
  timeZone: string;
}

/** The scheduled moment on a local date; a time skipped by a DST change moves on past the gap. */
function momentOn(date: DateTime, schedule: WeeklySchedule, timeZone: string): DateTime {
  return DateTime.fromObject({ year: date.year, month: date.month, day: date.day, hour: schedule.hour, minute: schedule.minute }, { zone: timeZone });
}

/** The latest scheduled moment at or before `now`, and the two weeks that end there. */
export function latestPeriod(schedule: WeeklySchedule, timeZone: string, now: number): ReportPeriod {
  const today = DateTime.fromMillis(now, { zone: timeZone }).startOf('day');
  // This ISO week's scheduled day, or the one a week earlier when that moment is still to come.
  let day = today.plus({ days: schedule.weekday - today.weekday });
  if (momentOn(day, schedule, timeZone).toMillis() > now) day = day.minus({ weeks: 1 });
  return {
    previousStart: momentOn(day.minus({ weeks: 2 }), schedule, timeZone).toMillis(),
    start: momentOn(day.minus({ weeks: 1 }), schedule, timeZone).toMillis(),
    end: momentOn(day, schedule, timeZone).toMillis(),
    timeZone,
  };
}

/** The week a report asked for at `now` covers: up to the latest scheduled moment, or without a schedule the last 7 days. */
export function reportPeriod(schedule: WeeklySchedule | undefined, timeZone: string, now: number): ReportPeriod {
  if (schedule) return latestPeriod(schedule, timeZone, now);
  const week = 7 * DAY_MS;
  return { previousStart: now - 2 * week, start: now - week, end: now, timeZone };
}

/** The period's bounds as the report prints them: `Mon 30 Nov 09:00 – Mon 7 Dec 09:00 (Europe/Berlin)`. */
export function describePeriod(period: ReportPeriod): string {
  const at = (ms: number) => DateTime.fromMillis(ms, { zone: period.timeZone, locale: 'en-GB' }).toFormat('ccc d LLL HH:mm');
  return `${at(period.start)} – ${at(period.end)} (${period.timeZone})`;
}
