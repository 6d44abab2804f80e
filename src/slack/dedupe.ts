import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import { isUniqueViolation, type Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { baseActionId, CHANGING_ACTIONS } from './values.js';

/** Slack retries a request it got no timely answer to; the same request within a day is one request. */
export const RETRY_WINDOW_MS = 24 * 60 * 60_000;
/** A second click on the same button with the same value this soon is a double click. */
export const DOUBLE_CLICK_WINDOW_MS = 10_000;

interface Claim {
  key: string;
  windowMs: number;
}

/**
 * Commands that only read: answering one twice changes nothing, so they claim no key and their
 * answer (given in the ack) costs no database write.
 */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set(['/invites', '/members']);

/**
 * The idempotence rule, in one place: which keys make two Slack deliveries "the same".
 * - a retry (X-Slack-Retry-Num) repeats the payload: its trigger_id (commands, clicks, submissions)
 *   or event_id (events) is the same;
 * - a double click is a new request, but from the same user, on the same action, with the same value;
 * - a read-only command is never "the same" as another: each one is simply answered.
 */
export function dedupeClaims(body: Record<string, unknown>): Claim[] {
  const claims: Claim[] = [];
  const event = body as { event_id?: unknown; trigger_id?: unknown; type?: unknown; command?: unknown; user?: { id?: unknown }; actions?: unknown };
  if (typeof event.command === 'string' && READ_ONLY_COMMANDS.has(event.command)) return claims;
  if (typeof event.event_id === 'string') claims.push({ key: `event:${event.event_id}`, windowMs: RETRY_WINDOW_MS });
  if (typeof event.trigger_id === 'string') claims.push({ key: `trigger:${event.trigger_id}`, windowMs: RETRY_WINDOW_MS });
  if (event.type === 'block_actions' && Array.isArray(event.actions)) {
    for (const action of event.actions as Array<{ action_id?: unknown; value?: unknown; selected_option?: { value?: unknown } }>) {
      const base = typeof action.action_id === 'string' ? baseActionId(action.action_id) : '';
      if (!CHANGING_ACTIONS.has(base)) continue;
      const value = typeof action.value === 'string' ? action.value : String(action.selected_option?.value ?? '');
      claims.push({ key: `click:${String(event.user?.id)}:${base}:${value}`.slice(0, 255), windowMs: DOUBLE_CLICK_WINDOW_MS });
    }
  }
  return claims.map((c) => ({ ...c, key: c.key.slice(0, 255) }));
}

export class SlackDedupe {
  private claimsSincePrune = 0;

  constructor(private readonly db: Db, private readonly clock: Clock) {}

  /** True the first time `key` is seen within `windowMs` (across instances sharing the database). */
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

  /** Global Bolt middleware: a repeated request is acknowledged and goes no further. */
  middleware(): Middleware<AnyMiddlewareArgs> {
    return async (args) => {
      const claims = dedupeClaims(args.body as unknown as Record<string, unknown>);
      for (const claim of claims) {
        if (!(await this.claim(claim.key, claim.windowMs))) {
          args.logger.debug(`duplicate Slack request ignored (${claim.key})`);
          if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
          return;
        }
      }
      await args.next();
    };
  }
}
