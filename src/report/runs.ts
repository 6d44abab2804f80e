import type { Db, Trx } from '../db/index.js';
import type { WeeklyReportFigures } from './figures.js';

/** The figures a queued report was drawn from, kept with its period in `report_runs` (src/jobs/weekly-report.ts). */
export async function storedReport(db: Db | Trx, periodEnd: number): Promise<WeeklyReportFigures | undefined> {
  const row = (await db('report_runs').where({ period_end: periodEnd }).first('figures')) as { figures: string | null } | undefined;
  return row?.figures ? (JSON.parse(row.figures) as WeeklyReportFigures) : undefined;
}

/**
 * A week's figures with the week before as that week's report gave them, when one was sent: the
 * reconstruction from the audit log can differ where an invitation changed since (its TTL, its
 * delivery), and "last week" should read as last week's report did.
 */
export async function asReported(db: Db | Trx, figures: WeeklyReportFigures): Promise<WeeklyReportFigures> {
  const last = await storedReport(db, figures.period.start);
  return last ? { ...figures, previousWeek: last.week } : figures;
}
