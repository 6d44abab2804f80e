import { RetryLater } from '../../outbox/worker.js';
import { rateLimitWaitMs, refusedForGood, slackRefusal } from '../refusals.js';
import type { ChannelPacer } from './pacer.js';

/**
 * What a paced outbox item's failed Web API call comes to: Slack's refusal for good (answered, so
 * the item is dropped with it), a 429 (every channel held, and the item waits it out), or anything
 * else (thrown, so the outbox retries with backoff).
 */
export function refusalOrRetry(error: unknown, pacer: ChannelPacer, channel: string, key: string | number): string {
  throwIfRateLimited(error, pacer, channel, key);
  if (refusedForGood(error)) return slackRefusal(error)!;
  throw error;
}

/** A 429: every channel is held, and the item waits it out (RetryLater with Slack's Retry-After). */
export function throwIfRateLimited(error: unknown, pacer: ChannelPacer, channel: string, key: string | number): void {
  const waitMs = rateLimitWaitMs(error);
  if (waitMs === undefined) return;
  pacer.rateLimited(channel, key, waitMs);
  // Slack asking to slow down, as a mail server's 421 does: a wait, not a failure.
  throw new RetryLater('Slack rate limited (429)', waitMs, true);
}
