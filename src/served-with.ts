import type { Db } from './db/index.js';
import { slackMode, type Config } from './config.js';
import { ConfigError } from './shared/errors.js';

/**
 * What the service makes links, sends mail and tells Slack with, recorded at each start
 * (`app_settings`), so a CLI run that would do it differently refuses: a `deliver` without the
 * service's SMTP_URL would write the queued emails to files and mark them sent, a `link` or `deliver`
 * with another PUBLIC_URL would point invitees elsewhere, and an approval decided without the
 * service's Slack settings would leave the approvers' buttons up and the requester untold. Nothing
 * to check before the service first started.
 */
export interface ServedWith {
  publicUrl: string;
  mail: 'smtp' | 'file';
  /** MAIL_RATE as mailRateText writes it: emails delivered by the CLI keep the service's pace. */
  mailRate: string;
  slack: SlackServed;
}

/** The Slack settings that decide who is told what: whether Slack is on, the bootstrap admins, the approval channel. */
export interface SlackServed {
  on: boolean;
  adminUserIds: string[];
  approvalChannel?: string;
}

/** This process's Slack settings, as recorded and compared. */
export function slackServed(slack: Config['slack']): SlackServed {
  return { on: slackMode(slack) !== 'off', adminUserIds: slack.adminUserIds, approvalChannel: slack.approvalChannel };
}

const KEYS = { publicUrl: 'served_public_url', mail: 'served_mail_transport', mailRate: 'served_mail_rate', slack: 'served_slack' } as const satisfies Record<keyof ServedWith, string>;

function stored(served: ServedWith): Record<keyof ServedWith, string> {
  const { on, adminUserIds, approvalChannel } = served.slack;
  return { publicUrl: served.publicUrl, mail: served.mail, mailRate: served.mailRate, slack: JSON.stringify(on ? { on, adminUserIds: adminSet(adminUserIds), approvalChannel: approvalChannel ?? null } : { on }) };
}

/** The bootstrap admins as a set: in any order, each once. */
function adminSet(ids: readonly string[]): string[] {
  return [...new Set(ids)].sort();
}

/** Records this start's settings; answers the mail transport recorded before, and whether Slack was on, when they were recorded. */
export async function recordServedWith(db: Db, served: ServedWith, now: number): Promise<{ mailBefore?: string; slackBefore?: boolean }> {
  const before = new Map(((await db('app_settings').whereIn('key', [KEYS.mail, KEYS.slack]).select('key', 'value')) as Array<{ key: string; value: string }>).map((row) => [row.key, row.value]));
  const values = stored(served);
  const rows = (Object.keys(KEYS) as Array<keyof ServedWith>).map((name) => ({ key: KEYS[name], value: values[name], updated_at: now }));
  await db('app_settings').insert(rows).onConflict('key').merge(['value', 'updated_at']);
  const mailBefore = before.get(KEYS.mail);
  const slackBefore = before.get(KEYS.slack);
  return { ...(mailBefore ? { mailBefore } : {}), ...(slackBefore ? { slackBefore: (JSON.parse(slackBefore) as StoredSlack).on } : {}) };
}

/** Refuses, naming the variable, when this run's settings differ from the service's where it matters to the command. */
export async function requireServedWith(db: Db, here: Partial<ServedWith>): Promise<void> {
  const rows = (await db('app_settings').whereIn('key', Object.values(KEYS)).select('key', 'value')) as Array<{ key: string; value: string }>;
  const served = new Map(rows.map((row) => [row.key, row.value]));
  // Slack's settings first, then the links', then the mail's: a run without the whole environment hears of Slack first.
  const slack = served.get(KEYS.slack);
  if (here.slack !== undefined && slack !== undefined) requireSameSlack(JSON.parse(slack) as StoredSlack, here.slack);
  const publicUrl = served.get(KEYS.publicUrl);
  if (here.publicUrl !== undefined && publicUrl !== undefined && sameUrl(publicUrl, here.publicUrl) === false) {
    throw new ConfigError('PUBLIC_URL', `is ${here.publicUrl} here but ${publicUrl} for the service, so links made here would point elsewhere; run the CLI with the service's environment`);
  }
  const mailRate = served.get(KEYS.mailRate);
  if (here.mailRate !== undefined && mailRate !== undefined && here.mailRate !== mailRate) {
    throw new ConfigError('MAIL_RATE', `is ${here.mailRate} here but ${mailRate} for the service, so emails delivered here would not keep the mail provider's pace; run the CLI with the service's environment`);
  }
  if (here.mail === 'file' && served.get(KEYS.mail) === 'smtp') {
    throw new ConfigError('SMTP_URL', "is not set here, but the service sends mail through SMTP: emails delivered here would be written to files in DATA_DIR/outbox and marked sent; run the CLI with the service's environment");
  }
}

/** The Slack settings as recorded (the admins sorted, without repeats). */
interface StoredSlack {
  on: boolean;
  adminUserIds?: string[];
  approvalChannel?: string | null;
}

/** Refuses a run whose Slack settings would tell other people than the service tells (or nobody). */
function requireSameSlack(service: StoredSlack, here: SlackServed): void {
  const fix = "run the CLI with the service's environment";
  if (!service.on) {
    // What it queued for Slack would wait for an instance with Slack, and its sweep would hold off the service's webhook-only ones.
    if (here.on) throw new ConfigError('SLACK_BOT_TOKEN', `is set here, but the service runs without Slack: what this command queues for Slack would never be delivered; ${fix}`);
    return;
  }
  if (!here.on) throw new ConfigError('SLACK_BOT_TOKEN', `is not set here, but the service runs with Slack: approvers, requesters and inviters would not hear in Slack what this command does; ${fix}`);
  const admins = (ids: readonly string[]) => adminSet(ids).join(',') || '(none)';
  if (admins(service.adminUserIds ?? []) !== admins(here.adminUserIds)) {
    throw new ConfigError('SLACK_ADMIN_USER_IDS', `is ${admins(here.adminUserIds)} here but ${admins(service.adminUserIds ?? [])} for the service, so other people would be asked or told; ${fix}`);
  }
  if ((service.approvalChannel ?? undefined) !== here.approvalChannel) {
    throw new ConfigError('SLACK_APPROVAL_CHANNEL', `is ${here.approvalChannel ?? '(not set)'} here but ${service.approvalChannel ?? '(not set)'} for the service, so approval requests would go elsewhere; ${fix}`);
  }
}

/** The same address however it was written (a host in capitals, a default port). */
function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}
