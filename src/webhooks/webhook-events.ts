import type { Db, Trx } from '../db/index.js';
import type { DoormanEvent, EventSink, EventType } from '../events/events.js';
import { enqueue, type OutboxMessage } from '../outbox/outbox.js';
import { newId } from '../shared/ids.js';
import { receives, storedEndpoints, type WebhookEndpoint } from './endpoints.js';

/** The outbox kind of webhook deliveries: one row per event per endpoint. */
export const WEBHOOK = 'webhook';

/** What a webhook delivery needs, fixed when queued so every retry sends the same bytes under the same id. */
export interface WebhookPayload {
  /** `webhook-id`: one per event, the same for every endpoint and every retry (receivers dedupe on it). */
  webhookId: string;
  endpointId: string;
  type: string;
  /** The exact body `{type, timestamp, data}` that is signed and sent. */
  body: string;
}

/**
 * The webhook event sink: one outbox row per event per subscribed endpoint, in the change's transaction.
 * Stored endpoints are read there (on SQLite the only connection) at most once per `storedTtlMs`, so one
 * the CLI adds starts receiving within that time, and one removed meanwhile is dropped at delivery.
 */
export class WebhookEvents implements EventSink {
  private stored: { endpoints: WebhookEndpoint[]; readAt: number } | undefined;

  constructor(
    private readonly env: readonly WebhookEndpoint[],
    private readonly storedTtlMs = 10_000,
  ) {}

  quiet(now: number): boolean {
    return this.env.length === 0 && this.fresh(now) && this.stored!.endpoints.length === 0;
  }

  /** Forgets the stored endpoints (after this process added or removed one). */
  forget(): void {
    this.stored = undefined;
  }

  /** Whether any endpoint takes one of these events (read now when not known): jobs that exist only to tell someone ask first. */
  async anyReceives(db: Db, now: number, types: readonly EventType[]): Promise<boolean> {
    return (await this.endpoints(db, now)).some((endpoint) => types.some((type) => receives(endpoint, type)));
  }

  async queueEvents(trx: Trx, now: number, events: readonly DoormanEvent[]): Promise<void> {
    if (events.length === 0 || this.quiet(now)) return;
    const endpoints = await this.endpoints(trx, now);
    if (endpoints.length === 0) return;
    const timestamp = new Date(now).toISOString();
    const messages: OutboxMessage<WebhookPayload>[] = [];
    for (const event of events) {
      const targets = endpoints.filter((endpoint) => receives(endpoint, event.type));
      if (targets.length === 0) continue;
      const webhookId = newId('msg');
      const body = JSON.stringify({ type: event.type, timestamp, data: event.data });
      for (const endpoint of targets) messages.push({ kind: WEBHOOK, target: endpoint.id, payload: { webhookId, endpointId: endpoint.id, type: event.type, body } });
    }
    await enqueue(trx, now, messages);
  }

  private fresh(now: number): boolean {
    return this.stored !== undefined && now - this.stored.readAt < this.storedTtlMs && now >= this.stored.readAt;
  }

  private async endpoints(db: Db | Trx, now: number): Promise<WebhookEndpoint[]> {
    if (!this.fresh(now)) this.stored = { endpoints: await storedEndpoints(db, { activeOnly: true }), readAt: now };
    return [...this.env, ...this.stored!.endpoints];
  }
}
