import type { Trx } from '../db/index.js';
import type { RecordedOutcome, RecordResult } from './claims.js';
import type { OutboxRow } from './outbox.js';

/** What a handler's delivery came to: a recorded outcome other than `failing` (a failure is thrown). */
export type DeliveryOutcome = Exclude<RecordedOutcome, { result: 'failing' }>;

/** One kind of queued work (invitation emails, Slack notices, webhooks): how an item is delivered and recorded. */
export interface OutboxHandler {
  kind: string;
  deliver(item: OutboxRow): Promise<DeliveryOutcome>;
  /** Optional: runs in the transaction that records an item's outcome. */
  recordOutcome?(trx: Trx, item: OutboxRow, outcome: RecordedOutcome): Promise<void>;
  /** Optional: on stop, for good — ends deliveries that wait on someone else (a slow webhook receiver); they stay queued. */
  interrupt?(): void;
  /**
   * Optional: until when none of this kind should be tried (the mail server is unreachable): the
   * worker claims none of it meanwhile, so an outage is not a retry of every queued item in turn.
   */
  heldUntil?(): number | undefined;
  /**
   * Optional: records an outcome itself, with what else it changes (its invitation's delivery state), in place
   * of the worker's record; undefined leaves it to the worker's record, with recordOutcome in its transaction.
   */
  record?(item: OutboxRow, outcome: RecordedOutcome, now: number): Promise<RecordResult | undefined>;
}

/** Told of each outcome once it is recorded (metrics); an outcome another worker's claim overrode is not told. */
export type DeliveryObserver = (kind: string, outcome: RecordedOutcome) => void;
