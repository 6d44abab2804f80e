import { randomUUID } from 'node:crypto';
import { inTransaction, type Db, type Trx } from '../db/index.js';
import { linkedAdmins, SLACK_NOTICE, weeklyReportKey, type NoticePayload } from '../notices/queue.js';
import { enqueue } from '../outbox/outbox.js';
import { reportFigures } from '../report/runs.js';
import { latestPeriod, type WeeklySchedule } from '../report/schedule.js';
import type { Clock } from '../shared/clock.js';

export interface WeeklyReportSettings {
  schedule: WeeklySchedule;
  timeZone: string;
  /** REPORT_CHANNEL; unset: a DM to each admin. */
  channel?: string;
  /** SLACK_ADMIN_USER_IDS, told besides the admin members with a linked Slack user. */
  bootstrapAdmins: readonly string[];
  inviteTtlMs: number;
}

export interface ReportRun {
  periodEnd: number;
  recipients: string[];
}

/**
 * Sends the weekly report once per period. Every run looks at the latest scheduled moment only, so
 * a service that was down over one or more moments sends the latest missed week when it is back,
 * and never the older ones. The period is claimed by inserting its `report_runs` row in the
 * transaction that queues the Slack messages: with several instances the row's key lets exactly
 * one transaction commit a claim, and the outbox delivers (and retries) what it queued.
 */
export class WeeklyReport {
  /** The period last answered with no recipients, so that it is said once, not at every check. */
  private unsent: number | undefined;

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly settings: WeeklyReportSettings) {}

  /**
   * Claims and queues the latest period's report if nobody has; what was queued, if anything. With
   * nobody to send it to, nothing is claimed (answered once per period with no recipients): an admin
   * linked later in the week still gets that week's report.
   */
  async run(): Promise<ReportRun | undefined> {
    const now = this.clock.now();
    const period = latestPeriod(this.settings.schedule, this.settings.timeZone, now);
    // Most runs find the period sent already: a read, no write transaction.
    if (await this.db('report_runs').where({ period_end: period.end }).first('period_end')) return undefined;
    if ((await this.recipients(this.db)).length === 0) {
      if (this.unsent === period.end) return undefined;
      this.unsent = period.end;
      return { periodEnd: period.end, recipients: [] };
    }
    // Computed before the claim, so the write transaction (SQLite's one writer) stays short.
    const figures = await reportFigures(this.db, period, this.settings.inviteTtlMs);
    return inTransaction(this.db, async (trx) => {
      const claim = randomUUID();
      const recipients = await this.recipients(trx);
      if (recipients.length === 0) return undefined;
      // A second instance's insert waits here for the first one's commit, then does nothing.
      await trx('report_runs')
        .insert({ period_end: period.end, period_start: period.start, claim, figures: JSON.stringify(figures), recipients: recipients.length, created_at: now })
        .onConflict('period_end')
        .ignore();
      const row = (await trx('report_runs').where({ period_end: period.end }).first('claim')) as { claim: string } | undefined;
      if (row?.claim !== claim) return undefined;
      await enqueue(
        trx,
        now,
        recipients.map((recipient) => ({
          kind: SLACK_NOTICE,
          dedupeKey: weeklyReportKey(period.end, recipient),
          payload: { notice: 'weekly_report', recipient, periodEnd: period.end } satisfies NoticePayload,
        })),
      );
      return { periodEnd: period.end, recipients };
    });
  }

  /** REPORT_CHANNEL, or else the admins (see adminRecipients). */
  private recipients(db: Db | Trx): Promise<string[]> {
    return this.settings.channel ? Promise.resolve([this.settings.channel]) : adminRecipients(db, this.settings.bootstrapAdmins);
  }
}

/** Who gets the report without REPORT_CHANNEL: the bootstrap admins and every active admin member linked to a Slack user. */
export async function adminRecipients(db: Db | Trx, bootstrapAdmins: readonly string[]): Promise<string[]> {
  return [...new Set([...bootstrapAdmins, ...(await linkedAdmins(db))])];
}
