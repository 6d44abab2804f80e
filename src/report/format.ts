import { DAY_MS } from '../shared/clock.js';
import type { WeekFigures, WeeklyReportFigures } from './figures.js';

/** One figure of the report: what it is, this week's value and last week's, as words. */
export interface FigureLine {
  label: string;
  value: string;
  previous: string;
}

/** `1d 4h`, `3h 20m`, `45m`, `under a minute`; `—` for no value. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'under a minute';
  const days = Math.floor(minutes / 1_440);
  const hours = Math.floor((minutes % 1_440) / 60);
  const rest = minutes % 60;
  if (days) return hours ? `${days}d ${hours}h` : `${days}d`;
  if (hours) return rest ? `${hours}h ${rest}m` : `${hours}h`;
  return `${rest}m`;
}

export function formatRate(rate: number | null): string {
  return rate === null ? '—' : `${Math.round(rate * 100)}%`;
}

const n = (value: number) => value.toLocaleString('en');

/** The report's figures in order, each with last week's beside it; both renderers draw these. */
export function figureLines(figures: WeeklyReportFigures): FigureLine[] {
  const line = (label: string, format: (week: WeekFigures) => string): FigureLine => ({ label, value: format(figures.week), previous: format(figures.previousWeek) });
  return [
    line('Sent', (w) => n(w.sent)),
    line('Accepted', (w) => n(w.accepted)),
    line('Acceptance rate', (w) => formatRate(w.acceptanceRate)),
    line('Median time to accept', (w) => formatDuration(w.medianTimeToAcceptMs)),
    line('Pending for more than 3 days', (w) => n(w.pendingOverThreeDays)),
    line('Expired and not renewed', (w) => n(w.expiredNotRenewed)),
    line('Refused or failing deliveries', (w) => n(w.deliveryProblems)),
  ];
}

/** How long ago an invitation was sent, in whole days (at least 3 for the pending list). */
export function daysAgo(at: number, now: number): string {
  const days = Math.floor((now - at) / DAY_MS);
  return days === 1 ? '1 day ago' : `${n(days)} days ago`;
}

/** A domain's problems this week: `2 refused, 1 failing`. */
export function domainProblems(refused: number, failing: number): string {
  const parts = [refused ? `${n(refused)} refused` : '', failing ? `${n(failing)} failing` : ''].filter(Boolean);
  return parts.join(', ') || 'none';
}
