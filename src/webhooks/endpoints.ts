import { createHash } from 'node:crypto';
import { inTransaction, isUniqueViolation, type Db, type Trx } from '../db/index.js';
import { EVENT_TYPES, isEventType, type EventType } from '../events/events.js';
import { DAY_MS } from '../shared/clock.js';
import { InvalidInput, NotFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { redactUserinfo, webhookUrlProblem } from '../shared/urls.js';
import { newWebhookSecret, sealSecret } from './secrets.js';

/**
 * Webhook endpoints: those of WEBHOOK_URLS (signed with WEBHOOK_SECRET, changed only in the
 * environment) and those added with `doorman webhooks add` (stored, each with its own secret).
 */
export interface WebhookEndpoint {
  id: string;
  url: string;
  /** `whsec_…` for an environment endpoint; sealed (secrets.ts) for a stored one until delivery opens it. */
  secret: string;
  /** The event types it receives; null: all of them. */
  events: EventType[] | null;
  source: 'env' | 'stored';
  state: 'active' | 'disabled';
  disabledReason: string | null;
  createdAt: number | null;
}

interface EndpointRow {
  id: string;
  url: string;
  secret: string;
  events: string | null;
  state: 'active' | 'disabled';
  disabled_reason: string | null;
  created_at: number | string;
  updated_at: number | string;
}

/** An environment endpoint's id: the same for the same URL in every instance and after restarts. */
export function envEndpointId(url: string): string {
  return `env_${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
}

export function isEnvEndpointId(id: string): boolean {
  return id.startsWith('env_');
}

export function envEndpoints(config: { urls: string[]; secret?: string }): WebhookEndpoint[] {
  if (!config.secret) return [];
  const secret = config.secret;
  return config.urls.map((url) => ({ id: envEndpointId(url), url, secret, events: null, source: 'env', state: 'active', disabledReason: null, createdAt: null }));
}

function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    secret: row.secret,
    events: row.events === null ? null : (JSON.parse(row.events) as EventType[]),
    source: 'stored',
    state: row.state,
    disabledReason: row.disabled_reason,
    createdAt: Number(row.created_at),
  };
}

export function receives(endpoint: Pick<WebhookEndpoint, 'events'>, type: EventType): boolean {
  return endpoint.events === null || endpoint.events.includes(type);
}

function checkedUrl(raw: string): string {
  const url = raw.trim();
  const problem = webhookUrlProblem(url);
  if (problem) throw new InvalidInput(`"${redactUserinfo(url).slice(0, 200)}" ${problem}.`, 'url');
  if (url.length > 2000) throw new InvalidInput('The URL is longer than 2000 characters.', 'url');
  return url;
}

/** `--events invite.created,member.deactivated` → the types; unknown names are refused by name. */
export function parseEventTypes(list: string): EventType[] {
  const names = [...new Set(list.split(/[\s,]+/).filter(Boolean))];
  const unknown = names.filter((name) => !isEventType(name));
  if (unknown.length) throw new InvalidInput(`Unknown event type(s): ${unknown.join(', ')}. Known: ${EVENT_TYPES.join(', ')}.`, 'events', unknown);
  if (names.length === 0) throw new InvalidInput('Give at least one event type, or leave --events out for all of them.', 'events');
  return names.filter(isEventType);
}

/** Stores a new endpoint with its own secret (sealed); the secret is answered here once, in the clear (the receiver verifies with it). */
export async function addEndpoint(db: Db, now: number, input: { url: string; events?: EventType[] | null; envUrls: readonly string[]; appSecret: string }): Promise<WebhookEndpoint> {
  const url = checkedUrl(input.url);
  if (input.envUrls.includes(url)) throw new InvalidInput(`${url} is already an endpoint by WEBHOOK_URLS.`, 'url');
  const secret = newWebhookSecret();
  const row: EndpointRow = {
    id: newId('whep'),
    url,
    secret: sealSecret(input.appSecret, secret),
    events: input.events ? JSON.stringify(input.events) : null,
    state: 'active',
    disabled_reason: null,
    created_at: now,
    updated_at: now,
  };
  try {
    await db('webhook_endpoints').insert(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new InvalidInput(`${url} is already an endpoint; remove it first to change it.`, 'url');
    throw error;
  }
  return { ...toEndpoint(row), secret };
}

export async function storedEndpoints(db: Db | Trx, options: { activeOnly?: boolean } = {}): Promise<WebhookEndpoint[]> {
  const rows = (await db<EndpointRow>('webhook_endpoints')
    .modify((q) => (options.activeOnly ? q.where({ state: 'active' }) : q))
    .orderBy('created_at')) as EndpointRow[];
  return rows.map(toEndpoint);
}

export async function storedEndpoint(db: Db | Trx, id: string): Promise<WebhookEndpoint | undefined> {
  const row = (await db<EndpointRow>('webhook_endpoints').where({ id }).first()) as EndpointRow | undefined;
  return row ? toEndpoint(row) : undefined;
}

/**
 * Removes a stored endpoint by id or URL; what is queued for it is dropped at delivery. An
 * environment endpoint is refused with where to change it.
 */
export async function removeEndpoint(db: Db, idOrUrl: string, envUrls: readonly string[]): Promise<WebhookEndpoint> {
  const row = await removableRow(db, idOrUrl, envUrls);
  await inTransaction(db, async (trx) => {
    await trx('webhook_endpoints').where({ id: row.id }).delete();
    await trx('webhook_health').where({ endpoint_id: row.id }).delete();
    await trx('webhook_failures').where({ endpoint_id: row.id }).delete();
  });
  return toEndpoint(row);
}

/** The added endpoint `idOrUrl` names, as removeEndpoint would find it (refusing as it would), before asking whether to remove it. */
export async function removableEndpoint(db: Db, idOrUrl: string, envUrls: readonly string[]): Promise<WebhookEndpoint> {
  return toEndpoint(await removableRow(db, idOrUrl, envUrls));
}

async function removableRow(db: Db, idOrUrl: string, envUrls: readonly string[]): Promise<EndpointRow> {
  const key = idOrUrl.trim();
  if (envUrls.includes(key) || envUrls.some((url) => envEndpointId(url) === key)) {
    throw new InvalidInput(`${key} comes from WEBHOOK_URLS; remove it there.`, 'endpoint');
  }
  const row = (await db<EndpointRow>('webhook_endpoints').where({ id: key }).orWhere({ url: key }).first()) as EndpointRow | undefined;
  if (!row) throw new NotFound('webhook endpoint', key.slice(0, 200));
  return row;
}

export async function disableEndpoint(trx: Trx, id: string, reason: string, now: number): Promise<void> {
  await trx('webhook_endpoints').where({ id, state: 'active' }).update({ state: 'disabled', disabled_reason: reason, updated_at: now });
}

/** One delivery attempt's outcome for the endpoint's health (`doorman webhooks list`). */
export async function recordAttempt(trx: Trx, endpointId: string, now: number, failure?: string): Promise<void> {
  const health = failure === undefined ? { last_success_at: now } : { last_failure_at: now, last_error: failure.slice(0, 500) };
  await trx('webhook_health').insert({ endpoint_id: endpointId, ...health }).onConflict('endpoint_id').merge(Object.keys(health));
  if (failure === undefined) return;
  await trx('webhook_failures').insert({ endpoint_id: endpointId, at: now });
  // Only the last day is ever counted.
  await trx('webhook_failures').where({ endpoint_id: endpointId }).where('at', '<', now - DAY_MS).delete();
}

export interface EndpointHealth {
  failuresLastDay: number;
  lastFailureAt: number | null;
  lastError: string | null;
  lastSuccessAt: number | null;
}

export async function endpointHealth(db: Db, ids: readonly string[], now: number): Promise<Map<string, EndpointHealth>> {
  const result = new Map<string, EndpointHealth>(ids.map((id) => [id, { failuresLastDay: 0, lastFailureAt: null, lastError: null, lastSuccessAt: null }]));
  if (ids.length === 0) return result;
  const health = (await db('webhook_health').whereIn('endpoint_id', ids)) as Array<{ endpoint_id: string; last_success_at: number | string | null; last_failure_at: number | string | null; last_error: string | null }>;
  for (const row of health) {
    Object.assign(result.get(row.endpoint_id)!, {
      lastSuccessAt: row.last_success_at === null ? null : Number(row.last_success_at),
      lastFailureAt: row.last_failure_at === null ? null : Number(row.last_failure_at),
      lastError: row.last_error,
    });
  }
  const counts = (await db('webhook_failures').whereIn('endpoint_id', ids).where('at', '>=', now - DAY_MS).groupBy('endpoint_id').select('endpoint_id').count({ n: '*' })) as Array<{ endpoint_id: string; n: number | string }>;
  for (const row of counts) result.get(row.endpoint_id)!.failuresLastDay = Number(row.n);
  return result;
}
