import type { Db, Trx } from '../db/index.js';
import { weeklyFigures, type WeeklyReportFigures } from './figures.js';
import type { ReportPeriod } from './schedule.js';

/** The figures a queued report was drawn from, kept with its period in `report_runs` (src/jobs/weekly-report.ts). */
export async function storedReport(db: Db | Trx, periodEnd: number): Promise<WeeklyReportFigures | undefined> {
  const row = (await db('report_runs').where({ period_end: periodEnd }).first('figures')) as { figures: string | null } | undefined;
  return row?.figures ? (JSON.parse(row.figures) as WeeklyReportFigures) : undefined;
}

/**
 * The figures a report gives for a period: weeklyFigures, with the week before as that week's
 * report gave it when one was sent. The reconstruction from the audit log can differ where an
 * invitation changed since (its TTL, its delivery), and "last week" should read as last week's
 * report did. The job and `doorman report` both draw their figures here.
 */
export async function reportFigures(db: Db | Trx, period: ReportPeriod, inviteTtlMs: number): Promise<WeeklyReportFigures> {
  const figures = await weeklyFigures(db, period, inviteTtlMs);
  const last = await storedReport(db, period.start);
  return last ? { ...figures, previousWeek: last.week } : figures;
}
