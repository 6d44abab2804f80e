import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StatusCounts } from '../invites/list.js';
import { SHOWN_STATUSES } from '../invites/model.js';
import type { OutboxBacklog } from '../outbox/outbox.js';
import type { RecordedOutcome } from '../outbox/claims.js';
import type { Clock } from '../shared/clock.js';

/** What a delivery came to, as the metric names it; `deferred` is a wait by design (pace, a server asking to slow down). */
export type DeliveryOutcomeLabel = 'delivered' | 'cancelled' | 'refused' | 'failing' | 'deferred';
/** How a call to Slack ended: `rate_limited` is Slack's 429. */
export type SlackCallResult = 'ok' | 'error' | 'rate_limited';
/** The kind of request Slack sent the app. */
export type SlackRequestType = 'command' | 'action' | 'view' | 'shortcut' | 'event' | 'options' | 'other';

/** Where the figures read at scrape time come from (the database, through the domain). */
export interface MetricsSources {
  clock: Clock;
  invitationCounts(): Promise<StatusCounts>;
  outboxBacklog(): Promise<OutboxBacklog[]>;
  /** Kinds of work the worker delivers: each is shown, with 0 when nothing waits. */
  outboxKinds(): string[];
}

/**
 * Doorman's Prometheus metrics, all named `doorman_…`, in a registry of their own (not prom-client's
 * global one), so two instances in one process never share or clash. Invitation and outbox figures
 * are read from the database once per scrape; counters and durations are kept as things happen.
 * No label ever holds an email address, a token or a raw path.
 */
export class Metrics {
  readonly registry: Registry;
  private readonly invitations: Gauge<'status'>;
  private readonly outboxBacklogGauge: Gauge<'kind'>;
  private readonly outboxOldestAge: Gauge<'kind'>;
  private readonly deliveries: Counter<'kind' | 'outcome'>;
  private readonly slackApiCalls: Counter<'method' | 'result'>;
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  readonly slackRequestDuration: Histogram<'type'>;

  constructor(private readonly sources: MetricsSources) {
    // Loaded when METRICS is on, not by every start: most deployments never serve /metrics.
    const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
    this.registry = new Registry();
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'doorman_' });
    this.invitations = new Gauge({ name: 'doorman_invitations', help: 'Invitations by shown status (pending, expired, accepted, revoked, awaiting_approval).', labelNames: ['status'], registers });
    this.outboxBacklogGauge = new Gauge({ name: 'doorman_outbox_backlog', help: 'Outbox items waiting to be delivered, by kind.', labelNames: ['kind'], registers });
    this.outboxOldestAge = new Gauge({
      name: 'doorman_outbox_oldest_age_seconds',
      help: 'Age of the oldest outbox item waiting to be delivered, by kind (0 when none waits).',
      labelNames: ['kind'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'doorman_deliveries_total',
      help: 'Outbox delivery outcomes recorded by this instance, by kind and outcome (delivered, cancelled, refused, failing, deferred).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.slackApiCalls = new Counter({
      name: 'doorman_slack_api_calls_total',
      help: "HTTP calls to Slack's Web API (and response_url posts) by this instance, by method and result (ok, error, rate_limited).",
      labelNames: ['method', 'result'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'doorman_http_request_duration_seconds',
      help: 'HTTP requests served, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.slackRequestDuration = new Histogram({
      name: 'doorman_slack_request_duration_seconds',
      help: 'Time to handle a request from Slack (command, action, view, shortcut, event, options), listeners included.',
      labelNames: ['type'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30],
      registers,
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text a scraper reads: the database figures are read first, then everything is rendered. */
  async scrape(): Promise<string> {
    const [counts, backlog] = await Promise.all([this.sources.invitationCounts(), this.sources.outboxBacklog()]);
    const now = this.sources.clock.now();
    for (const status of SHOWN_STATUSES) this.invitations.set({ status }, counts[status]);
    // Kinds whose backlog emptied read 0 (not absent), so an alert on them resolves.
    this.outboxBacklogGauge.reset();
    this.outboxOldestAge.reset();
    for (const kind of this.sources.outboxKinds()) {
      this.outboxBacklogGauge.set({ kind }, 0);
      this.outboxOldestAge.set({ kind }, 0);
    }
    for (const row of backlog) {
      this.outboxBacklogGauge.set({ kind: row.kind }, row.pending);
      this.outboxOldestAge.set({ kind: row.kind }, Math.max(0, (now - row.oldestCreatedAt) / 1000));
    }
    return this.registry.metrics();
  }

  /** An outcome the outbox worker recorded. */
  deliveryRecorded(kind: string, outcome: RecordedOutcome): void {
    this.deliveries.inc({ kind, outcome: deliveryOutcomeLabel(outcome) });
  }

  slackApiCall(method: string, result: SlackCallResult): void {
    this.slackApiCalls.inc({ method, result });
  }
}

function deliveryOutcomeLabel(outcome: RecordedOutcome): DeliveryOutcomeLabel {
  switch (outcome.result) {
    case 'done':
      return 'delivered';
    case 'failing':
      return outcome.expected ? 'deferred' : 'failing';
    default:
      return outcome.result;
  }
}
