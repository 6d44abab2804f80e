import type { Logger } from 'pino';
import { retryThroughOutage, type Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { recordOutcome, type RecordedOutcome } from './claims.js';
import type { DeliveryObserver, OutboxHandler } from './handler.js';
import type { OutboxRow } from './outbox.js';
import { failingOutcome, type BackoffOptions } from './retry.js';

/** What a worker's tries and records of its items go by. */
export interface DeliveryContext {
  db: Db;
  clock: Clock;
  logger: Logger;
  backoff: BackoffOptions;
  /** How long an outage is waited out when recording: the item's lease. */
  leaseMs: number;
  stopping: () => boolean;
  observe?: DeliveryObserver;
}

/** One try of a claimed item by its handler; undefined when its lease ran out before its turn came (it is left to the next claim). */
export async function tryDelivery(handler: OutboxHandler, item: OutboxRow, { clock, logger, backoff }: DeliveryContext): Promise<RecordedOutcome | undefined> {
  // Run out by the claim's own rule (`locked_until < now`): at the very instant it ends the item
  // is still ours, and no claim can take it yet.
  if (item.locked_until !== null && Number(item.locked_until) < clock.now()) {
    logger.warn({ outbox: item.id, kind: item.kind }, 'not delivered: its lease ran out while it waited its turn; it is left to the next claim');
    return undefined;
  }
  try {
    const outcome = await handler.deliver(item);
    logger.debug({ outbox: item.id, kind: item.kind, outcome: outcome.result }, 'delivered');
    return outcome;
  } catch (error) {
    const outcome = failingOutcome(error, Number(item.failures), backoff);
    const { expected, retryInMs } = outcome;
    logger[expected ? 'debug' : 'warn']({ outbox: item.id, kind: item.kind, attempts: item.attempts, retryInMs, error: outcome.error }, expected ? 'delivery waits its turn' : 'delivery failed; will retry');
    return outcome;
  }
}

/**
 * Records an outcome, retrying through passing faults and an outage (a failover) for up to a lease: the
 * delivery is done, and an outcome not recorded lets the lease run out and the item go out again.
 */
export async function recordDelivery(handler: OutboxHandler, item: OutboxRow, outcome: RecordedOutcome, context: DeliveryContext): Promise<void> {
  const { db, clock, logger } = context;
  try {
    const recorded = await retryThroughOutage(
      async () => {
        const now = clock.now();
        return (
          (await handler.record?.(item, outcome, now)) ??
          (await recordOutcome(db, item, outcome, now, handler.recordOutcome && ((trx) => handler.recordOutcome!(trx, item, outcome))))
        );
      },
      { outageMs: context.leaseMs, stopping: context.stopping },
    );
    if (recorded === 'cancelled') logger.info({ outbox: item.id, kind: item.kind }, 'outcome not recorded: the item was cancelled while it was being delivered');
    if (recorded === 'claimed again') logger.warn({ outbox: item.id, kind: item.kind }, 'outcome not recorded: the item was claimed again after its lease ran out');
    if (recorded === 'recorded') context.observe?.(item.kind, outcome);
  } catch (error) {
    logger.error({ outbox: item.id, err: error }, 'could not record a delivery outcome');
  }
}
