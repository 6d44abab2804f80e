import type { Db } from '../db/index.js';
import type { WeeklyReportFigures } from './figures.js';

/** The figures a queued report was drawn from, kept with its period in `report_runs` (src/jobs/weekly-report.ts). */
export async function storedReport(db: Db, periodEnd: number): Promise<WeeklyReportFigures | undefined> {
  const row = (await db('report_runs').where({ period_end: periodEnd }).first('figures')) as { figures: string | null } | undefined;
  return row?.figures ? (JSON.parse(row.figures) as WeeklyReportFigures) : undefined;
}
