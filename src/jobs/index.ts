import type { Services } from '../app.js';
import { AuditFeed } from './audit-feed.js';
import { ExpirySweep } from './expiry-sweep.js';
import { Every } from './scheduler.js';

export interface Jobs {
  stop(): Promise<void>;
}

export function expirySweep(services: Services): ExpirySweep {
  return new ExpirySweep(services.db, services.clock, {
    bootstrapAdmins: services.config.slack.adminUserIds,
    reminderMs: services.config.expiryReminderMs,
    lapseRequests: () => services.invites.lapseDueRequests(),
  });
}

/**
 * The scheduled work that tells people things in Slack: expiry notices and reminders every
 * EXPIRY_SWEEP_INTERVAL, and the audit channel. Runs only with Slack on: with nobody to tell,
 * nothing is claimed.
 */
export function startSlackJobs(services: Services, postToAuditChannel?: (lines: string[]) => Promise<void>): Jobs {
  const sweep = expirySweep(services);
  const running: Every[] = [
    new Every('expiry sweep', services.config.expirySweepIntervalMs, async () => {
      const result = await sweep.run();
      if (result.notices || result.lapsed) {
        services.logger.info(result, 'expiry sweep queued notices');
        services.outbox.wake();
      }
    }, services.logger),
  ];
  if (postToAuditChannel) {
    const feed = new AuditFeed(services.db, services.clock, postToAuditChannel);
    running.push(new Every('audit channel', 2_000, async () => {
      // Keep posting while there is a backlog, about one message a second.
      while ((await feed.run()) > 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }, services.logger));
  }
  for (const job of running) job.start();
  return {
    async stop() {
      await Promise.all(running.map((job) => job.stop()));
    },
  };
}
