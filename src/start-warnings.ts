import { slackMode, type Config } from './config.js';
import type { Logger } from './logger.js';
import { formatDuration } from './report/format.js';
import { plainHttpOffMachine } from './shared/urls.js';

/** What this start found in the database of the starts before it (served-with.ts, app-secret.ts). */
export interface StartFindings {
  /** How this instance delivers mail. */
  mail: 'smtp' | 'file';
  served: { mailBefore?: string; slackBefore?: boolean };
  secret: { replacedSince?: number };
}

/**
 * The settings a start accepts but an operator most likely did not mean, each logged once as a
 * warning naming the variable and the fix: the service runs as configured.
 */
export function warnAtStart(logger: Logger, config: Config, found: StartFindings): void {
  const slackOff = slackMode(config.slack) === 'off';
  if (found.served.mailBefore === 'smtp' && found.mail === 'file') {
    // Every instance delivers from the one outbox: one without SMTP_URL (a canary, a forgotten variable) takes the others' emails too.
    logger.warn("SMTP_URL is not set, but this database was last served with SMTP: emails are written to files in DATA_DIR/outbox and marked sent, other instances' queued ones too; set SMTP_URL as the other instances have it (expected only when moving to files on purpose, e.g. a staging copy)");
  }
  if (found.served.slackBefore === true && slackOff) {
    // The CLI checks its Slack settings against the last start's: a canary without them turns that check off for every instance.
    logger.warn('Slack is off here, but this database was last served with Slack: the CLI now checks its Slack settings against this start, and this instance sends no Slack DMs; set the Slack variables as the other instances have them (expected only when turning Slack off)');
  }
  if (found.secret.replacedSince !== undefined) {
    // On purpose when rotated; a mistyped secret, or a database restored without its own, does the same silently otherwise.
    logger.warn({ previousSince: new Date(found.secret.replacedSince).toISOString() }, 'APP_SECRET is not the one this database was last served with: invitation links emailed before, and admin sessions and bearer tokens issued before, no longer work (expected after rotating it; otherwise restore the secret)');
  }
  // Used as given: trimming it now would change every link already sent by a deployment that ran so.
  if (config.appSecret !== config.appSecret.trim()) logger.warn('APP_SECRET begins or ends with whitespace (a newline from a secrets file?); it is used as given, so keep it that way or every link changes');
  if (config.webhooks.urls.length > 1) {
    // Standard Webhooks: a key per endpoint. One shared, each receiver holds what signs the others' events.
    logger.warn({ endpoints: config.webhooks.urls.length }, 'WEBHOOK_URLS lists several endpoints that share WEBHOOK_SECRET: each receiver can sign events the others accept; give each its own secret with `doorman webhooks add` (unless they are all yours)');
  }
  const plain = config.webhooks.urls.filter(plainHttpOffMachine);
  // Payloads carry email addresses and names; https keeps them from the networks between.
  if (plain.length) logger.warn({ endpoints: plain }, 'WEBHOOK_URLS sends events (email addresses, names) over plain http: use https unless the network between is yours');
  if (slackOff) {
    if (config.report) logger.warn('REPORT_SCHEDULE is set but Slack is off: the weekly report goes out only with Slack on (doorman report --week prints it)');
    const channels = [config.slack.approvalChannel && 'SLACK_APPROVAL_CHANNEL', config.auditChannel && 'AUDIT_CHANNEL'].filter((name): name is string => Boolean(name));
    if (channels.length) logger.warn(`${channels.join(' and ')} ${channels.length > 1 ? 'are' : 'is'} set but Slack is off: nothing is posted there until Slack is on`);
  }
  // Every invitation is emailed INVITE_TTL before it expires, and none emailed within EXPIRY_REMINDER of its expiry is reminded.
  if (config.expiryReminderMs >= config.inviteTtlMs) {
    logger.warn(`EXPIRY_REMINDER (${formatDuration(config.expiryReminderMs)}) is not shorter than INVITE_TTL (${formatDuration(config.inviteTtlMs)}), so only invitations given a longer expiry are ever reminded; set it shorter, or 0 to turn reminders off`);
  }
}
