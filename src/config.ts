import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseMailRate, type MailRate } from './mail/pace.js';
import type { DomainPattern } from './invites/policy.js';
import { commandNameProblem, DEFAULT_COMMAND } from './slack/manifest.js';
import type { WeeklySchedule } from './report/schedule.js';
import { UNIT_MS, type TimeUnit } from './shared/clock.js';
import { resolveAppSecret } from './app-secret.js';
import { allowedDomains, channelId, dailyLimit, metricsAccess, report, trustProxy, webhooks } from './config-readers.js';
import { ConfigError } from './shared/errors.js';
import { redactUserinfo } from './shared/urls.js';

export type DatabaseConfig =
  /** `setting`: what named the file (DATABASE_URL, or DATA_DIR by default), for an error about it. */
  | { client: 'sqlite'; filename: string; setting?: 'DATABASE_URL' | 'DATA_DIR' }
  | { client: 'pg'; connectionString: string };

export interface SlackConfig {
  botToken?: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
  adminUserIds: string[];
  /** The one slash command (SLACK_COMMAND), e.g. /doorman. */
  command: string;
  /** SLACK_APPROVAL_CHANNEL: where approval requests are posted; unset: DMs to each approver. */
  approvalChannel?: string;
}

/** METRICS when on: open to any scraper, or only to one sending `Authorization: Bearer <token>`. */
export interface MetricsAccess {
  token?: string;
}

export interface Config {
  nodeEnv: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  database: DatabaseConfig;
  appSecret: string;
  smtpUrl?: string;
  /** Connect, greeting and socket time limit for SMTP, so a hung server cannot stall delivery. */
  smtpTimeoutMs: number;
  mailFrom: string;
  /** The mail provider's pace (MAIL_RATE); unset: as fast as the server takes them. */
  mailRate?: MailRate;
  /** SIGN_IN_URL: where members sign in to the organization's product, linked from the invitee's pages; unset: no link. */
  signInUrl?: string;
  orgName: string;
  inviteTtlMs: number;
  /** INVITE_ALLOWED_DOMAINS; unset: every domain is invited without approval. */
  allowedDomains?: DomainPattern[];
  /** INVITE_DAILY_LIMIT: invitations per inviter per 24 hours. */
  inviteDailyLimit: number;
  expirySweepIntervalMs: number;
  expiryReminderMs: number;
  auditChannel?: string;
  /** Which proxies' X-Forwarded-For to believe, as Express's `trust proxy` takes it (TRUST_PROXY). */
  trustProxy: boolean | number | string;
  logLevel: string;
  slack: SlackConfig;
  /** GET /metrics (METRICS); unset: off, the route does not exist. */
  metrics?: MetricsAccess;
  /** The weekly report's time zone (REPORT_TZ), also used by `doorman report --week`. */
  reportTimeZone: string;
  /** The weekly report in Slack (REPORT_SCHEDULE); unset: none is sent. */
  report?: { schedule: WeeklySchedule; channel?: string };
  /** Endpoints from WEBHOOK_URLS, all signed with WEBHOOK_SECRET (endpoints added by the CLI have their own secrets). */
  webhooks: { urls: string[]; secret?: string };
}

export type Env = Record<string, string | undefined>;

/** `90s`, `15m`, `2h`, `7d` → milliseconds. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as TimeUnit];
}

/** The longest wait a timer can hold (Node fires any longer one at once). */
const TIMER_MAX = { ms: 24 * UNIT_MS.d, words: '24d' };
/** The longest an invitation (or its reminder's lead) may run. */
const YEAR = { ms: 365 * UNIT_MS.d, words: '365d' };

/** `offWithZero`: 0 turns the setting off, written bare or with a unit like any duration (0s, 0h). */
function duration(env: Env, name: string, fallback: string, min: { ms: number; words: string }, max: { ms: number; words: string }, offWithZero = false): number {
  const raw = env[name]?.trim() || fallback;
  if (offWithZero && /^0+[smhd]?$/.test(raw)) return 0;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new ConfigError(name, `"${raw}" is not a duration; use a number with s, m, h or d (e.g. 90s, 15m, 2h, 7d)`);
  if (ms < min.ms) throw new ConfigError(name, `"${raw}" is too short; use ${min.words} or more`);
  if (ms > max.ms) throw new ConfigError(name, `"${raw}" is too long; use ${max.words} or less`);
  return ms;
}

/** What a URL carrying credentials is refused with when a password cut it elsewhere. */
const ENCODE_HINT = 'percent-encode @ / ? # in the user name and password (@ is %40, / is %2F, ? is %3F, # is %23)';

/**
 * `withCredentials`: a URL that may carry a user name and password (DATABASE_URL, SMTP_URL). One
 * holding @ / ? # written as it is would be cut elsewhere, and part of the password read as the
 * host: a fragment, or an @ after the host, is refused with how to write it.
 */
function url(env: Env, name: string, protocols: string[], withCredentials = false): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `"${redactUserinfo(raw)}" is not a URL${withCredentials && raw.includes('@') ? `; ${ENCODE_HINT}` : ''}`);
  }
  if (withCredentials && (raw.includes('#') || /@/.test(parsed.pathname + parsed.search))) throw new ConfigError(name, `cannot be read as written: ${ENCODE_HINT}`);
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => p + '//').join(' or ')}`);
  }
  return raw;
}

/** DATABASE_URL: unset for the SQLite file in DATA_DIR, or a PostgreSQL URL. */
function database(env: Env, dataDir: string): DatabaseConfig {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return { client: 'sqlite', filename: path.join(dataDir, 'doorman.sqlite3'), setting: 'DATA_DIR' };
  if (/^postgres(ql)?:\/\//.test(raw)) {
    url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], true);
    return { client: 'pg', connectionString: raw };
  }
  const sqlite = /^sqlite:\/\/(\/.+)$/.exec(raw);
  if (sqlite) {
    const filename = sqlite[1]!;
    if (existsSync(filename) && statSync(filename).isDirectory()) throw new ConfigError('DATABASE_URL', `${filename} is a directory; name the database file, e.g. sqlite://${path.join(filename, 'doorman.sqlite3')}`);
    return { client: 'sqlite', filename, setting: 'DATABASE_URL' };
  }
  throw new ConfigError('DATABASE_URL', `"${redactUserinfo(raw)}" is not supported; use sqlite:///absolute/path.sqlite3 or postgres://user@host/db`);
}

/** An SQLite file must be there before the CLI connects (connecting would create it): see requireMigrated. */
function requireDatabaseFile(database: DatabaseConfig): void {
  if (database.client === 'sqlite' && !existsSync(database.filename)) {
    throw new ConfigError(database.setting ?? 'DATABASE_URL', `there is no database at ${database.filename}; start the service once (npm start) or run "doorman migrate" to create it`);
  }
}

export interface LoadOptions {
  /**
   * For the operator's CLI: the service's database and secret must be there already. A configured
   * SQLite file that is not there is refused, and a missing APP_SECRET is never generated, so a
   * run from another directory or without the service's environment writes nothing to say so.
   */
  existing?: boolean;
}

export function loadConfig(env: Env = process.env, options: LoadOptions = {}): Config {
  const portRaw = env.PORT?.trim() || '3000';
  const port = Number(portRaw);
  if (!/^\d+$/.test(portRaw) || port > 65535) throw new ConfigError('PORT', `"${portRaw}" is not a port number (0–65535)`);

  const dataDir = path.resolve(env.DATA_DIR?.trim() || './data');
  // Checked here, whatever needs it first (the generated secret, the SQLite file, the file outbox).
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) throw new ConfigError('DATA_DIR', `${dataDir} is not a directory`);
  const givenUrl = url(env, 'PUBLIC_URL', ['http:', 'https:']);
  // Every link names the public URL, and a port the system picks at start is not known here.
  if (!givenUrl && port === 0) throw new ConfigError('PORT', '0 takes any free port, which invitation links cannot name: set PUBLIC_URL too (the address people reach Doorman at)');
  const publicUrl = (givenUrl ?? `http://localhost:${port}`).replace(/\/+$/, '');
  // The pages, the API and Slack's endpoints are served from the root: under a path prefix the
  // accept page's form and assets would point outside it.
  const { pathname: publicPath, username, password } = new URL(publicUrl);
  // Every email and Slack message carries this URL: a user name or password in it would go to each invitee.
  if (username || password) throw new ConfigError('PUBLIC_URL', `"${redactUserinfo(publicUrl)}" holds a user name or password; every invitation link would carry it`);
  if (publicPath !== '/' || /[?#]/.test(publicUrl)) throw new ConfigError('PUBLIC_URL', `"${publicUrl}" has a path, query or fragment; Doorman is served at the root of its host (give it a host of its own, e.g. https://doorman.example.com)`);
  // Links are made as the URL reads once parsed: "https:host", "https://Host\\" or a default port typed out give links that work.
  const origin = new URL(publicUrl).origin;
  const smtpUrl = url(env, 'SMTP_URL', ['smtp:', 'smtps:'], true);
  // Without a host nodemailer would send to its own default; PostgreSQL's URL may leave it to a socket or PGHOST.
  if (smtpUrl && !new URL(smtpUrl).hostname) throw new ConfigError('SMTP_URL', `"${redactUserinfo(smtpUrl)}" names no host`);
  const mailFrom = env.MAIL_FROM?.trim() || 'Doorman <no-reply@localhost>';
  if (!/<[^<>@\s]+@[^<>@\s]+>$|^[^<>@\s]+@[^<>@\s]+$/.test(mailFrom)) {
    throw new ConfigError('MAIL_FROM', `"${mailFrom}" is not an address like "Doorman <no-reply@example.com>"`);
  }

  const adminUserIds = (env.SLACK_ADMIN_USER_IDS ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  for (const id of adminUserIds) {
    if (!/^[UW][A-Z0-9]{2,}$/.test(id)) throw new ConfigError('SLACK_ADMIN_USER_IDS', `"${id}" is not a Slack user id (like U024BE7LH)`);
  }
  const slack: SlackConfig = {
    botToken: env.SLACK_BOT_TOKEN?.trim() || undefined,
    signingSecret: env.SLACK_SIGNING_SECRET?.trim() || undefined,
    appToken: env.SLACK_APP_TOKEN?.trim() || undefined,
    apiUrl: url(env, 'SLACK_API_URL', ['http:', 'https:']),
    adminUserIds,
    command: env.SLACK_COMMAND?.trim() || DEFAULT_COMMAND,
    approvalChannel: channelId(env, 'SLACK_APPROVAL_CHANNEL'),
  };
  const commandProblem = commandNameProblem(slack.command);
  if (commandProblem) throw new ConfigError('SLACK_COMMAND', commandProblem);
  if (slack.botToken && !slack.botToken.startsWith('xoxb-')) throw new ConfigError('SLACK_BOT_TOKEN', 'must be a bot token starting with xoxb-');
  if (slack.appToken && !slack.appToken.startsWith('xapp-')) throw new ConfigError('SLACK_APP_TOKEN', 'must be an app-level token starting with xapp-');
  // Half a Slack set-up is most likely a misspelled variable: said, rather than starting with Slack off.
  if (!slack.botToken && (slack.signingSecret || slack.appToken)) {
    throw new ConfigError('SLACK_BOT_TOKEN', `is not set, but ${slack.signingSecret ? 'SLACK_SIGNING_SECRET' : 'SLACK_APP_TOKEN'} is; set SLACK_BOT_TOKEN to turn Slack on, or neither`);
  }
  if (slack.botToken && !slack.signingSecret && !slack.appToken) {
    throw new ConfigError('SLACK_SIGNING_SECRET', 'is required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)');
  }

  const mailRateRaw = env.MAIL_RATE?.trim();
  const mailRate = mailRateRaw ? parseMailRate(mailRateRaw) : undefined;
  if (mailRateRaw && !mailRate) throw new ConfigError('MAIL_RATE', `"${mailRateRaw}" is not a rate; use a count per s, m, h or d (e.g. 14/s, 500/h, 2000/d)`);

  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `"${logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  }

  const db = database(env, dataDir);
  if (options.existing) requireDatabaseFile(db);

  return {
    nodeEnv: env.NODE_ENV?.trim() || 'development',
    port,
    publicUrl: origin,
    dataDir,
    database: db,
    appSecret: resolveAppSecret(env, dataDir, { generate: !options.existing }),
    smtpUrl,
    smtpTimeoutMs: duration(env, 'SMTP_TIMEOUT', '30s', { ms: 1_000, words: '1s' }, TIMER_MAX),
    mailFrom,
    mailRate,
    orgName: env.ORG_NAME?.trim() || 'our team',
    signInUrl: url(env, 'SIGN_IN_URL', ['http:', 'https:']),
    inviteTtlMs: duration(env, 'INVITE_TTL', '7d', { ms: 1_000, words: '1s' }, YEAR),
    allowedDomains: allowedDomains(env),
    inviteDailyLimit: dailyLimit(env),
    expirySweepIntervalMs: duration(env, 'EXPIRY_SWEEP_INTERVAL', '1m', { ms: 1_000, words: '1s' }, TIMER_MAX),
    expiryReminderMs: duration(env, 'EXPIRY_REMINDER', '24h', { ms: 1_000, words: '1s' }, YEAR, true),
    auditChannel: channelId(env, 'AUDIT_CHANNEL'),
    trustProxy: trustProxy(env),
    logLevel,
    slack,
    metrics: metricsAccess(env),
    ...report(env),
    webhooks: webhooks(env),
  };
}

export function slackMode(slack: SlackConfig): 'off' | 'http' | 'socket' {
  if (!slack.botToken) return 'off';
  return slack.appToken ? 'socket' : 'http';
}
