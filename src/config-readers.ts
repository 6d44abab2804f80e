import { isIP } from 'node:net';
import type { Config, Env, MetricsAccess } from './config.js';
import { DEFAULT_DAILY_LIMIT, parseAllowedDomains, type DomainPattern } from './invites/policy.js';
import { isTimeZone, parseSchedule } from './report/schedule.js';
import { SLACK_CHANNEL_ID } from './shared/actor.js';
import { ConfigError } from './shared/errors.js';
import { redactUserinfo, webhookUrlProblem } from './shared/urls.js';
import { webhookSecretProblem, webhookSecrets } from './webhooks/secrets.js';

/*
 * Readers of the product's settings: each reads its variable(s), checks them, and names the
 * variable and the fix when a value is wrong, so start-up stops before anything runs.
 */

/**
 * TRUST_PROXY: `loopback` (the default: a proxy on the same host), a number of hops, or a comma
 * list of addresses, CIDRs and Express's names (loopback, linklocal, uniquelocal); `false` for none.
 */
export function trustProxy(env: Env): boolean | number | string {
  const raw = env.TRUST_PROXY?.trim() || 'loopback';
  if (raw === 'false') return false;
  if (raw === 'true') throw new ConfigError('TRUST_PROXY', '"true" would believe any X-Forwarded-For a client sends; give the number of proxies (e.g. 1) or their addresses');
  if (/^\d+$/.test(raw)) return Number(raw);
  for (const item of raw.split(',').map((i) => i.trim())) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) continue;
    const [address, bits, ...rest] = item.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 4 ? 32 : 128;
    if (!family || rest.length || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
      throw new ConfigError('TRUST_PROXY', `"${item}" is not an address, a CIDR, loopback, linklocal or uniquelocal`);
    }
    if (bits !== undefined && Number(bits) === 0) throw new ConfigError('TRUST_PROXY', `"${item}" trusts every address, as "true" would: any client could write its own X-Forwarded-For; give the proxies' addresses`);
  }
  return raw;
}

/** A token scrapers can send as a Bearer credential: at least 16 of the characters RFC 6750 allows. */
const METRICS_TOKEN = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

/** METRICS: `off` (the default), `on`, or a token a scraper must send. A bad value is never echoed: it may be a secret. */
export function metricsAccess(env: Env): MetricsAccess | undefined {
  const raw = env.METRICS?.trim() || 'off';
  if (raw.toLowerCase() === 'off') return undefined;
  if (raw.toLowerCase() === 'on') return {};
  if (METRICS_TOKEN.test(raw)) return { token: raw };
  throw new ConfigError('METRICS', 'use off, on, or a token of at least 16 characters (letters, digits, - . _ ~ + /) that scrapers send as "Authorization: Bearer <token>"');
}

/** REPORT_TZ (default UTC), REPORT_SCHEDULE (`mon 09:00`) and REPORT_CHANNEL (a channel id or #name). */
export function report(env: Env): Pick<Config, 'report' | 'reportTimeZone'> {
  const reportTimeZone = env.REPORT_TZ?.trim() || 'UTC';
  if (!isTimeZone(reportTimeZone)) throw new ConfigError('REPORT_TZ', `"${reportTimeZone}" is not an IANA time zone (like Europe/Berlin or America/New_York)`);
  const channel = env.REPORT_CHANNEL?.trim() || undefined;
  if (channel && !/^([CG][A-Z0-9]{2,}|#?[a-z0-9][a-z0-9._-]{0,79})$/.test(channel)) {
    throw new ConfigError('REPORT_CHANNEL', `"${channel}" is not a Slack channel id (like C024BE91L) or name (like #invitations)`);
  }
  const raw = env.REPORT_SCHEDULE?.trim();
  if (!raw) return { reportTimeZone };
  const schedule = parseSchedule(raw);
  if (!schedule) throw new ConfigError('REPORT_SCHEDULE', `"${raw}" is not a weekday and a time; use a weekday name and HH:MM (e.g. mon 09:00)`);
  return { reportTimeZone, report: { schedule, channel } };
}

/** A channel id (C…, G…), as chat.postMessage takes it; a name could be renamed under us. */
export function channelId(env: Env, name: 'SLACK_APPROVAL_CHANNEL' | 'AUDIT_CHANNEL'): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!SLACK_CHANNEL_ID.test(raw)) throw new ConfigError(name, `"${raw}" is not a Slack channel id (like C024BE91L); copy it from the channel's details`);
  return raw;
}

export function allowedDomains(env: Env): DomainPattern[] | undefined {
  const raw = env.INVITE_ALLOWED_DOMAINS?.trim();
  if (!raw) return undefined;
  const parsed = parseAllowedDomains(raw);
  if ('problem' in parsed) throw new ConfigError('INVITE_ALLOWED_DOMAINS', parsed.problem);
  return parsed.patterns;
}

export function dailyLimit(env: Env): number {
  const raw = env.INVITE_DAILY_LIMIT?.trim();
  if (!raw) return DEFAULT_DAILY_LIMIT;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw new ConfigError('INVITE_DAILY_LIMIT', `"${raw}" is not a whole number of at least 1`);
  return Number(raw);
}

export function webhooks(env: Env): Config['webhooks'] {
  const urls = (env.WEBHOOK_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const raw of urls) {
    const problem = webhookUrlProblem(raw);
    if (problem) throw new ConfigError('WEBHOOK_URLS', `"${redactUserinfo(raw)}" ${problem}`);
  }
  if (new Set(urls).size !== urls.length) throw new ConfigError('WEBHOOK_URLS', 'lists the same URL twice');
  const secret = env.WEBHOOK_SECRET?.trim() || undefined;
  if (urls.length && !secret) throw new ConfigError('WEBHOOK_SECRET', 'is required with WEBHOOK_URLS (whsec_ followed by base64, e.g. whsec_ and `openssl rand -base64 32`)');
  // Several while one is rotated: each signs every delivery.
  const secrets = secret ? webhookSecrets(secret) : [];
  for (const [i, one] of secrets.entries()) {
    const problem = webhookSecretProblem(one);
    if (problem) throw new ConfigError('WEBHOOK_SECRET', secrets.length > 1 ? `secret ${i + 1}: ${problem}` : problem);
  }
  return { urls, secret };
}
