import { createHmac } from 'node:crypto';
import type { Db } from '../db/index.js';
import { putOffTarget } from '../outbox/claims.js';
import type { OutboxRow } from '../outbox/outbox.js';
import type { DeliveryOutcome, OutboxHandler } from '../outbox/handler.js';
import { backoffMs, RetryLater, StopGrace } from '../outbox/retry.js';
import type { WorkerOptions } from '../outbox/worker.js';
import { DAY_MS, UNIT_MS, type Clock } from '../shared/clock.js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../logger.js';
import { webhookUrlProblem } from '../shared/urls.js';
import { EndpointLanes, LANE_WAIT_MS } from './lanes.js';
import { disableEndpoint, isEnvEndpointId, recordAttempt, storedEndpoint, type WebhookEndpoint } from './endpoints.js';
import { openSecret, webhookSecrets } from './secrets.js';
import { WEBHOOK, type WebhookPayload } from './webhook-events.js';

/**
 * The Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` keyed by
 * the base64 after `whsec_`. Several secrets (space-separated, while one is rotated) give one
 * signature each, space-separated: a receiver holding either accepts it.
 */
export function signature(secret: string, webhookId: string, timestampSeconds: number, body: string): string {
  return webhookSecrets(secret)
    .map((one) => `v1,${createHmac('sha256', Buffer.from(one.slice('whsec_'.length), 'base64')).update(`${webhookId}.${timestampSeconds}.${body}`).digest('base64')}`)
    .join(' ');
}

export interface WebhookDeliverySettings {
  /** How long a request may take before it counts as failed. */
  timeoutMs: number;
  /** After this long since it was queued, a failing delivery is given up. */
  giveUpAfterMs: number;
  /** Requests to one endpoint at once, in this process. */
  perEndpoint: number;
  /** The endpoint's own pause after a failure (doubling, capped). */
  backoff: Pick<WorkerOptions, 'backoffBaseMs' | 'backoffMaxMs'>;
}

export const DEFAULT_WEBHOOK_DELIVERY: WebhookDeliverySettings = {
  // The Standard Webhooks recommendations: 15–30 s for a request, retries spanning days (a weekend's outage).
  timeoutMs: 15_000,
  giveUpAfterMs: 3 * DAY_MS,
  perEndpoint: 2,
  backoff: { backoffBaseMs: 5_000, backoffMaxMs: 3_600_000 },
};

/**
 * Webhooks get their own OutboxWorker (claiming only `webhook` rows), so a hanging receiver never takes the
 * lanes of invitation emails and Slack notices; within it, `perEndpoint` lanes and a pause after a failure
 * keep one slow or dead receiver from costing the others more than one timeout.
 */
export const WEBHOOK_WORKER_OPTIONS: Partial<WorkerOptions> = {
  concurrency: 8,
  batchSize: 32,
  ...DEFAULT_WEBHOOK_DELIVERY.backoff,
};

/** How long requests under way may still finish when the service stops. */
const STOP_GRACE_MS = 2_000;

/** The refusal a 410 Gone comes to. */
const GONE = 'the endpoint answered 410 Gone';
/** A WEBHOOK_URLS endpoint's deliveries after its 410, in the process that heard it (the environment is the operator's to change). */
const GONE_BEFORE = 'the endpoint answered 410 Gone (it wants no more); remove it from WEBHOOK_URLS';
/** How long a process not told of a WEBHOOK_URLS endpoint leaves its delivery before it looks again. */
const ENV_ENDPOINT_WAIT_MS = 60_000;

/** Reads past an answer's body so its connection can be reused, dropping it unread past a bound: a receiver streaming a large one costs no memory. */
async function discardBody(response: Response, limit = 64 * 1024): Promise<void> {
  const reader = response.body?.getReader();
  if (!reader) return;
  try {
    for (let read = 0; ; ) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > limit) return void (await reader.cancel());
    }
  } catch {
    // A body cut short changes nothing: the status decides.
  }
}

class EndpointAnswered extends Error {
  constructor(
    readonly status: number,
    /** How long it asked to be left alone (Retry-After, in seconds or as a date), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(`the endpoint answered ${status}`);
  }
}

/** A Retry-After header in milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its day and month; Date.parse would take '-5' or '1.5' for dates too.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Delivers queued webhooks, signed at the moment of sending. A 410 Gone disables a stored endpoint, but for a
 * WEBHOOK_URLS one gives the delivery up and gets nothing more from this process until it restarts (the
 * environment is the operator's to change); other failures are retried with backoff until `giveUpAfterMs`
 * after queueing.
 */
export function webhookHandler(db: Db, clock: Clock, appSecret: string, env: readonly WebhookEndpoint[], settings: WebhookDeliverySettings = DEFAULT_WEBHOOK_DELIVERY, logger?: Pick<Logger, 'warn'>): OutboxHandler {
  const envById = new Map(env.map((endpoint) => [endpoint.id, endpoint]));
  // WEBHOOK_URLS endpoints that answered 410 Gone here: sent nothing more until a restart (an added one is disabled instead).
  const gone = new Set<string>();
  const lanes = new EndpointLanes(settings.perEndpoint);
  // On stop: nothing new goes out, and requests still unanswered after a short grace are cut (they stay queued).
  const stop = new StopGrace(STOP_GRACE_MS);
  const paused = new Map<string, { until: number; failures: number; lastError: string }>();
  // Until when each slow endpoint's waiting deliveries were last put off.
  const putOff = new Map<string, number>();

  const endpointFor = async (id: string) => envById.get(id) ?? (await storedEndpoint(db, id));
  const secretOf = (endpoint: WebhookEndpoint) => (endpoint.source === 'env' ? endpoint.secret : openSecret(appSecret, endpoint.secret));

  const attempt = async (endpoint: WebhookEndpoint, secret: string, payload: WebhookPayload): Promise<void> => {
    stop.refuseIfStopping();
    const timestamp = Math.floor(clock.now() / 1000);
    let response: Response;
    try {
      response = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Doorman-Webhooks',
          'webhook-id': payload.webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature(secret, payload.webhookId, timestamp, payload.body),
        },
        body: payload.body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), stop.signal]),
      });
    } catch (error) {
      stop.throwIfCut();
      const name = (error as Error).name;
      throw new Error(name === 'TimeoutError' ? `no answer within ${settings.timeoutMs / 1000} s` : `cannot reach the endpoint: ${describeError((error as Error).cause ?? error)}`);
    }
    await discardBody(response);
    if (response.status < 200 || response.status > 299) throw new EndpointAnswered(response.status, retryAfterMs(response.headers.get('retry-after'), clock.now()));
  };

  return {
    kind: WEBHOOK,
    async deliver(item: OutboxRow): Promise<DeliveryOutcome> {
      const payload = JSON.parse(item.payload) as WebhookPayload;
      const endpoint = await endpointFor(payload.endpointId);
      const tooOld = () => clock.now() - Number(item.created_at) >= settings.giveUpAfterMs;
      if (!endpoint) {
        // An endpoint of WEBHOOK_URLS is known only where that variable lists it. A process not told
        // of it (an instance not yet restarted after a URL was added, a `doorman deliver` run without
        // the variable) cannot tell it from one removed: it leaves its deliveries, all of them put
        // off together, for a process that has it, until the give-up time. A removed one's are dropped then.
        if (isEnvEndpointId(payload.endpointId) && !tooOld()) {
          const until = clock.now() + ENV_ENDPOINT_WAIT_MS;
          await putOffTarget(db, { kind: WEBHOOK, target: payload.endpointId, until, now: clock.now() }).catch(() => undefined);
          throw new RetryLater('its endpoint is set by WEBHOOK_URLS, which this process does not list', ENV_ENDPOINT_WAIT_MS, true);
        }
        return { result: 'cancelled', reason: 'the endpoint was removed' };
      }
      if (endpoint.state !== 'active') return { result: 'cancelled', reason: `the endpoint is disabled (${endpoint.disabledReason ?? 'no reason given'})` };
      if (gone.has(endpoint.id)) return { result: 'refused', reason: GONE_BEFORE, unsent: true };
      // Added before such URLs were refused: no request can carry its credentials (fetch refuses them).
      const urlProblem = webhookUrlProblem(endpoint.url);
      if (urlProblem) return { result: 'refused', reason: `the endpoint's URL ${urlProblem}; remove it and add it again without them` };
      const secret = secretOf(endpoint);
      // Sealed under another APP_SECRET: no signature the receiver would accept can be made.
      if (secret === undefined) return { result: 'refused', reason: 'cannot open the endpoint\'s secret (was APP_SECRET changed?); remove the endpoint and add it again' };
      const givenUp = (error: string, unsent?: true): DeliveryOutcome => ({ result: 'refused', reason: `given up after ${Math.round(settings.giveUpAfterMs / UNIT_MS.h)} h: ${error}`, ...(unsent ? { unsent } : {}) });
      // While its endpoint is failing a delivery waits without a request; one that has waited past
      // the give-up time is given up here, since it may never get an attempt of its own.
      const blocked = (): DeliveryOutcome | RetryLater | undefined => {
        const pause = paused.get(endpoint.id);
        const now = clock.now();
        if (!pause || pause.until <= now) return undefined;
        if (!tooOld()) return new RetryLater('waits while its endpoint is failing', pause.until - now, true);
        // No request was made: no failed attempt for `webhooks list` to count.
        return givenUp(pause.lastError, true);
      };
      // A retry come due past the give-up time, with no pause of this process over it (a restart, a
      // pause that ended first): given up without a request, as the docs promise.
      if (Number(item.failures) > 0 && tooOld()) return givenUp(paused.get(endpoint.id)?.lastError ?? item.last_error ?? 'it kept failing', true);
      const before = blocked();
      if (before instanceof RetryLater) throw before;
      if (before) return before;
      const lane = await lanes.take(endpoint.id);
      if (!lane) {
        // The endpoint is slow: its other waiting deliveries are put off for a moment too, so the claims
        // meanwhile take the other endpoints' (one statement per moment, not one per delivery).
        const now = clock.now();
        if ((putOff.get(endpoint.id) ?? 0) <= now) {
          putOff.set(endpoint.id, now + LANE_WAIT_MS);
          await putOffTarget(db, { kind: WEBHOOK, target: endpoint.id, until: now + LANE_WAIT_MS, now }).catch(() => undefined);
        }
        throw new RetryLater('waits for a free lane to its endpoint', LANE_WAIT_MS, true);
      }
      // A lane freed by a failure comes with a new pause: no request then either.
      const after = blocked();
      if (after) {
        lane(false);
        if (after instanceof RetryLater) throw after;
        return after;
      }
      try {
        await attempt(endpoint, secret, payload);
        paused.delete(endpoint.id);
        return { result: 'done' };
      } catch (error) {
        if (error instanceof RetryLater) throw error;
        const failures = (paused.get(endpoint.id)?.failures ?? 0) + 1;
        const now = clock.now();
        // A receiver that says how long to wait (a 503 or 429 with Retry-After) is left alone that long, up to the longest pause.
        const asked = error instanceof EndpointAnswered ? Math.min(error.retryAfterMs ?? 0, settings.backoff.backoffMaxMs ?? Infinity) : 0;
        const until = now + Math.max(backoffMs(failures, settings.backoff), asked);
        paused.set(endpoint.id, { until, failures, lastError: describeError(error) });
        // Its other waiting deliveries are put off together, so the claims meanwhile take the other
        // endpoints' instead of this one's, a batch at a time (should it fail, they are put off one by one as they come).
        await putOffTarget(db, { kind: WEBHOOK, target: endpoint.id, until, now }).catch(() => undefined);
        if (error instanceof EndpointAnswered && error.status === 410) {
          if (endpoint.source === 'env' && !gone.has(endpoint.id)) {
            gone.add(endpoint.id);
            logger?.warn({ endpoint: endpoint.url }, 'a WEBHOOK_URLS endpoint answered 410 Gone: it wants no more events, and this instance sends it none until it restarts; remove it from WEBHOOK_URLS');
          }
          return { result: 'refused', reason: GONE };
        }
        if (tooOld()) return givenUp(describeError(error));
        // The receiver's own wait goes on the row too: another instance, or this one after a restart, keeps it.
        if (asked > 0) throw new RetryLater(describeError(error), until - now, false, true);
        throw error;
      } finally {
        lane();
      }
    },
    interrupt: () => stop.interrupt(),
    async recordOutcome(trx, item, outcome) {
      const payload = JSON.parse(item.payload) as WebhookPayload;
      const now = clock.now();
      if (outcome.result === 'done') return recordAttempt(trx, payload.endpointId, now);
      if (outcome.result === 'refused') {
        if (outcome.unsent) return;
        await recordAttempt(trx, payload.endpointId, now, outcome.reason);
        if (outcome.reason === GONE && !envById.has(payload.endpointId)) await disableEndpoint(trx, payload.endpointId, 'it answered 410 Gone', now);
        return;
      }
      if (outcome.result === 'failing' && !outcome.expected) await recordAttempt(trx, payload.endpointId, now, outcome.error);
    },
  };
}
