import { isUniqueViolation, type Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';

/** A retried request (Slack got no answer in time) repeats its trigger id; within a day it is the same request. */
export const RETRY_WINDOW_MS = 24 * 60 * 60_000;
/** A second click on the same button with the same value this soon is a double click. */
export const DOUBLE_CLICK_WINDOW_MS = 10_000;

export interface Claim {
  key: string;
  windowMs: number;
}

/**
 * The keys that make two deliveries "the same": a retried request repeats its trigger id (or an
 * event its event id), and a double click is the same user on the same action with the same value.
 */
export function repeatClaims(request: { triggerId?: string; eventId?: string; click?: { userId: string; actionId: string; value: string } }): Claim[] {
  const claims: Claim[] = [];
  if (request.eventId) claims.push({ key: `event:${request.eventId}`, windowMs: RETRY_WINDOW_MS });
  if (request.triggerId) claims.push({ key: `trigger:${request.triggerId}`, windowMs: RETRY_WINDOW_MS });
  if (request.click) claims.push({ key: `click:${request.click.userId}:${request.click.actionId}:${request.click.value}`, windowMs: DOUBLE_CLICK_WINDOW_MS });
  return claims.map((c) => ({ ...c, key: c.key.slice(0, 255) }));
}

/**
 * Makes changes requested from Slack happen once: a request that changes something claims its
 * keys first, across instances sharing the database, and a repeat is answered without acting.
 */
export class SlackDedupe {
  private claimsSincePrune = 0;

  constructor(private readonly db: Db, private readonly clock: Clock) {}

  /** True when this is the first delivery (every key claimed); false for a repeat. */
  async first(claims: readonly Claim[]): Promise<boolean> {
    for (const claim of claims) if (!(await this.claim(claim.key, claim.windowMs))) return false;
    return true;
  }

  /** True the first time `key` is seen within `windowMs`. */
  async claim(key: string, windowMs: number): Promise<boolean> {
    const now = this.clock.now();
    if (++this.claimsSincePrune >= 500) {
      this.claimsSincePrune = 0;
      await this.db('slack_dedupe').where('created_at', '<', now - RETRY_WINDOW_MS).delete();
    }
    try {
      await this.db('slack_dedupe').insert({ key, created_at: now });
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    // Seen before: a claim older than the window may be taken over — by exactly one request.
    const taken = await this.db('slack_dedupe').where({ key }).where('created_at', '<=', now - windowMs).update({ created_at: now });
    return taken === 1;
  }
}
