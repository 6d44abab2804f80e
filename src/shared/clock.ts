import { DateTime } from 'luxon';
/** Time comes from here, so tests move it instead of sleeping. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export const DAY_MS = 86_400_000;
/** Milliseconds in each unit a setting may be written in (`90s`, `15m`, `2h`, `7d`; `14/s`). */
export const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;
export type TimeUnit = keyof typeof UNIT_MS;

/** Epoch milliseconds (a bigint column may come as a string) → ISO 8601; null stays null. */
export function toIso(ms: number | string | null): string | null {
  return ms === null ? null : new Date(Number(ms)).toISOString();
}

/**
 * A moment a person typed, in epoch ms, or NaN. `Date.parse` rolls an impossible day over
 * (2026-02-30 reads as March 2nd); a date written as YYYY-MM-DD must name a day that exists.
 * With `timeZone`, an ISO 8601 moment without an offset (or a day alone) is that zone's wall clock.
 */
export function parseMoment(value: string, timeZone?: string): number {
  if (timeZone) {
    const at = DateTime.fromISO(value, { zone: timeZone });
    return at.isValid ? at.toMillis() : NaN;
  }
  const at = Date.parse(value);
  const day = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!day || Number.isNaN(at)) return at;
  const [year, month, date] = day.slice(1).map(Number) as [number, number, number];
  const check = new Date(Date.UTC(year, month - 1, date));
  return check.getUTCMonth() === month - 1 && check.getUTCDate() === date ? at : NaN;
}
