import { setTimeout as sleep } from 'node:timers/promises';
import type { Services } from '../app.js';
import { slackMode } from '../config.js';
import { AuditFeed } from './audit-feed.js';
import { ExpirySweep, slackSweepsAfter, type SweepResult, type SweepSettings } from './expiry-sweep.js';
import { Every } from './scheduler.js';
import { WeeklyReport } from './weekly-report.js';
import { INVITE_EMAIL } from '../invites/sending.js';
import { pruneSettled } from '../outbox/retention.js';
import { WEBHOOK } from '../webhooks/webhook-events.js';

export interface Jobs {
  stop(): Promise<void>;
}

export function expirySweep(services: Services, options: Pick<SweepSettings, 'notices' | 'heard'> = {}): ExpirySweep {
  return new ExpirySweep(services.db, services.clock, {
    bootstrapAdmins: services.config.slack.adminUserIds,
    reminderMs: services.config.expiryReminderMs,
    events: services.events,
    notices: options.notices,
    heard: options.heard,
    intervalMs: services.config.expirySweepIntervalMs,
    lapseRequests: () => services.invites.lapseDueRequests(),
  });
}

/**
 * The expiry sweep run once (`doorman sweep`). With nobody to hear of it — Slack off and no webhook
 * endpoint taking its events — nothing is claimed that a later set-up should announce (`announced: false`), and only
 * the approval requests nobody decided in time lapse, as the service's sweep does.
 */
export async function sweepOnce(services: Services): Promise<SweepResult & { announced?: false }> {
  const slackOn = slackMode(services.config.slack) !== 'off';
  const now = services.clock.now();
  // Without Slack, only what a webhook endpoint takes is claimed: the rest waits for a later set-up to announce it.
  const heard = slackOn
    ? { expired: true, reminded: true }
    : { expired: await services.events.anyReceives(services.db, now, ['invite.expired']), reminded: await services.events.anyReceives(services.db, now, ['invite.reminded']) };
  if (!heard.expired && !heard.reminded) {
    // An instance sweeping with Slack lapses them, and tells the approvers and the requester.
    if (await slackSweepsAfter(services.db, now)) return { expired: 0, reminded: 0, notices: 0, leftToSlack: true };
    return { expired: 0, reminded: 0, notices: 0, lapsed: await services.invites.lapseDueRequests(), announced: false };
  }
  // With Slack off the sweep still serves webhook endpoints (invite.expired, invite.reminded).
  return expirySweep(services, slackOn ? {} : { notices: false, heard }).run();
}

/** The weekly report job, when REPORT_SCHEDULE is set. */
export function weeklyReport(services: Services): WeeklyReport | undefined {
  const { report, reportTimeZone, slack, inviteTtlMs } = services.config;
  if (!report) return undefined;
  return new WeeklyReport(services.db, services.clock, { schedule: report.schedule, timeZone: reportTimeZone, channel: report.channel, bootstrapAdmins: slack.adminUserIds, inviteTtlMs });
}

/** How often the weekly report looks for a scheduled moment that has passed. */
const REPORT_CHECK_MS = 30_000;
/** How often settled emails and webhooks past their keeping are deleted. */
const RETENTION_CHECK_MS = 60 * 60_000;

/** Deletes settled emails and webhooks once kept long enough (src/outbox/retention.ts): the outbox does not grow for good. */
function outboxRetention(services: Services): Every {
  return new Every('outbox retention', RETENTION_CHECK_MS, async (stopping) => {
    const deleted = await pruneSettled(services.db, services.clock.now(), [INVITE_EMAIL, WEBHOOK], { stopping });
    if (deleted) services.logger.info({ deleted }, 'settled emails and webhooks deleted from the outbox');
  }, services.logger);
}

/**
 * The scheduled work that tells people things in Slack: expiry notices and reminders every
 * EXPIRY_SWEEP_INTERVAL, the weekly report (REPORT_SCHEDULE), and the audit channel. Runs only with Slack on: with nobody to tell,
 * nothing is claimed. The outbox's retention runs with or without Slack.
 */
export function startSlackJobs(services: Services, postToAuditChannel?: (lines: string[]) => Promise<void>): Jobs {
  const sweep = expirySweep(services);
  const running: Every[] = [
    outboxRetention(services),
    new Every('expiry sweep', services.config.expirySweepIntervalMs, async () => {
      const result = await sweep.run();
      if (result.notices || result.lapsed) {
        services.logger.info(result, 'expiry sweep queued notices');
        services.slackOutbox.wake();
      }
      if (result.unheard) services.logger.warn({ unheard: result.unheard }, `${result.unheard} expired or expiring invitation(s) had nobody in Slack to tell: their inviter has no Slack user, and there is no admin to tell instead; set SLACK_ADMIN_USER_IDS or link an admin member to a Slack user (doorman user link-slack)`);
      if (result.expired || result.reminded) services.webhooks.wake();
    }, services.logger),
  ];
  const report = weeklyReport(services);
  if (report) {
    running.push(new Every('weekly report', REPORT_CHECK_MS, async () => {
      const run = await report.run();
      if (run && !run.recipients.length) services.logger.warn('weekly report: nobody to send it to; set REPORT_CHANNEL or SLACK_ADMIN_USER_IDS, or link an admin member to a Slack user');
      else if (run) {
        services.logger.info({ periodEnd: new Date(run.periodEnd).toISOString(), recipients: run.recipients.length }, 'weekly report queued');
        services.slackOutbox.wake();
      }
    }, services.logger));
  }
  if (postToAuditChannel) {
    const feed = new AuditFeed(services.db, services.clock, postToAuditChannel, services.logger);
    running.push(new Every('audit channel', 2_000, async (stopping) => {
      // Keep posting while there is a backlog, about one message a second; a stop ends it after the
      // message under way (the rest waits, kept, for the next start).
      while (!stopping.aborted && (await feed.run()) > 0) await sleep(1_000, undefined, { signal: stopping }).catch(() => undefined);
    }, services.logger));
  }
  return startAll(running);
}

/**
 * With Slack off, the expiry sweep still runs for the webhooks (`invite.expired`,
 * `invite.reminded`) — only while an endpoint is configured, so with none nothing is claimed and
 * turning Slack on later still announces those expiries. Approval requests nobody decided lapse
 * all the same (the rule "Policy"): an expired request must not stay listed as waiting.
 */
export function startJobsWithoutSlack(services: Services): Jobs {
  return startAll([
    outboxRetention(services),
    new Every('expiry sweep (webhooks)', services.config.expirySweepIntervalMs, async () => {
      // The sweep `doorman sweep` runs; lapsing wakes the workers itself (it queues through the invitations' onQueued).
      const result = await sweepOnce(services);
      if (result.expired || result.reminded) services.webhooks.wake();
    }, services.logger),
  ]);
}

function startAll(running: Every[]): Jobs {
  for (const job of running) job.start();
  return {
    async stop() {
      await Promise.all(running.map((job) => job.stop()));
    },
  };
}
