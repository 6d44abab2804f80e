import type { Logger } from '../../logger.js';
import { OutageHold, RetryLater } from '../../outbox/retry.js';
import type { Clock } from '../../shared/clock.js';
import { APP_REFUSED, rateLimitWaitMs, refusedForGood, slackRefusal } from '../refusals.js';
import type { ChannelPacer } from './pacer.js';

/**
 * What a paced outbox item's failed Web API call comes to: Slack's refusal for good (answered, so
 * the item is dropped with it), a 429 (every channel held, and the item waits it out), or anything
 * else (thrown, so the outbox retries with backoff).
 */
export function refusalOrRetry(error: unknown, pacer: ChannelPacer, channel: string, key: string | number, hold?: SlackAppHold): string {
  throwIfRateLimited(error, pacer, channel, key);
  hold?.throwIfAppRefused(error);
  if (refusedForGood(error)) return slackRefusal(error)!;
  throw error;
}

/**
 * The hold on everything the outbox posts to Slack while Slack refuses the app itself (APP_REFUSED):
 * one try now and then, one warning when it starts; shared by the notices and approval requests.
 */
export class SlackAppHold {
  private readonly hold: OutageHold;

  constructor(clock: Clock, private readonly logger: Logger) {
    this.hold = new OutageHold(clock, 60_000, 15 * 60_000);
  }

  /** OutboxHandler.heldUntil. */
  until(): number | undefined {
    return this.hold.until();
  }

  /** Before a call: claimed with a batch before the hold began, the item waits with the rest. */
  throwIfHeld(): void {
    const left = this.hold.left();
    if (left !== undefined) throw new RetryLater("waiting while Slack refuses Doorman's token", left, true);
  }

  /** After a call that went through. */
  passed(): void {
    this.hold.ended();
  }

  throwIfAppRefused(error: unknown): void {
    const refused = slackRefusal(error);
    if (!refused || !APP_REFUSED.has(refused)) return;
    const { waitMs, started } = this.hold.failed();
    if (started) this.logger.error({ refused }, `Slack refuses Doorman's token (${refused}): DMs and approval requests wait until it is mended (check SLACK_BOT_TOKEN and the app's installation, then restart)`);
    throw new RetryLater(`Slack refuses Doorman's token: ${refused}`, waitMs, true, true);
  }
}

/** A 429: every channel is held, and the item waits it out (RetryLater with Slack's Retry-After). */
export function throwIfRateLimited(error: unknown, pacer: ChannelPacer, channel: string, key: string | number): void {
  const waitMs = rateLimitWaitMs(error);
  if (waitMs === undefined) return;
  pacer.rateLimited(channel, key, waitMs);
  // Slack asking to slow down, as a mail server's 421 does: a wait, not a failure.
  throw new RetryLater('Slack rate limited (429)', waitMs, true);
}
