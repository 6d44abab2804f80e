import { greatestSql, type Db } from '../db/index.js';
import { UNIT_MS, type Clock, type TimeUnit } from '../shared/clock.js';

/** MAIL_RATE: at most `count` emails per `perMs`. */
export interface MailRate {
  count: number;
  perMs: number;
}

/** `14/s`, `500/h`, `2000/d` → a rate; undefined when it is not one. */
export function parseMailRate(value: string): MailRate | undefined {
  const match = /^(\d+)\s*\/\s*(s|m|h|d)$/.exec(value.trim());
  if (!match || Number(match[1]) < 1) return undefined;
  return { count: Number(match[1]), perMs: UNIT_MS[match[2] as TimeUnit] };
}

/** A rate as MAIL_RATE writes it (`14/s`), or `none`: how the service's is recorded and compared. */
export function mailRateText(rate: MailRate | undefined): string {
  if (!rate) return 'none';
  const unit = (Object.keys(UNIT_MS) as TimeUnit[]).find((u) => UNIT_MS[u] === rate.perMs);
  return unit ? `${rate.count}/${unit}` : `${rate.count}/${rate.perMs}ms`;
}

const BUDGET = 'mail';

/** A moment taken, or how long until the next free one. */
export type TakenMoment = { ok: true; atMs: number } | { ok: false; waitMs: number };

/** What waiting for a moment came to: also stopped by `beforeMoment`, or too late for `maxMoments` of them. */
export type NextMoment = TakenMoment | { ok: false; stopped: string } | { ok: false; late: true };

export interface NextOptions {
  maxMoments?: number;
  beforeMoment?: { leadMs: number; run(atMs: number): Promise<string | undefined> };
}

/**
 * The mail provider's pace, shared by all instances through the database: each send takes the next free
 * moment by moving `next_at` on one interval in a conditional update, so two instances never take the same
 * moment and together never exceed the rate in any window.
 */
export class MailPace {
  private readonly intervalMs: number;
  /** How late a moment may be taken and still count from when it fell due (see take). */
  private readonly graceMs: number;
  /** How late an email may be handed over after its moment (see next). */
  private readonly toleranceMs: number;
  private created = false;

  constructor(private readonly db: Db, private readonly clock: Clock, rate: MailRate) {
    // Never shorter than the rate's own interval (rounded up), and 5% wider where that is a whole
    // millisecond or more: a granted moment reaches the SMTP client a little later, by a delay that
    // varies (the database's answer, a busy event loop), and with exact spacing a late first and a
    // prompt last email of a window would put one more than the rate into one window.
    const exact = Math.ceil(rate.perMs / rate.count);
    this.intervalMs = Math.max(exact, Math.round((rate.perMs * 1.05) / rate.count));
    // Half of a window's margin (count intervals against perMs) at most is lent to late moments: the
    // other half stays for the delay to the SMTP client (all of it at 1 or 2 emails a window).
    const halfMargin = Math.floor((rate.count * this.intervalMs - rate.perMs) / 2);
    this.graceMs = Math.min(this.intervalMs - exact, halfMargin);
    // Any count + 1 moments span the period and at least half the margin: a hand-over later than
    // that after its moment could meet a prompt one a period on (at least 1 ms, for rates without margin).
    this.toleranceMs = Math.max(1, halfMargin);
  }

  /**
   * Waits for the next moment MAIL_RATE allows (taken up to `maxWaitMs` ahead) and answers it once it has
   * come. Woken too late for it, it takes another rather than crowd the ones after (up to `maxMoments`);
   * `beforeMoment` runs `leadMs` before each, to read again what is about to go out, and may end the wait.
   */
  async next(maxWaitMs: number, options: NextOptions = {}): Promise<NextMoment> {
    const { maxMoments = Infinity, beforeMoment } = options;
    for (let tries = 1; ; tries++) {
      const taken = await this.take(maxWaitMs);
      if (!taken.ok) return taken;
      if (beforeMoment) {
        await this.waitUntil(taken.atMs - beforeMoment.leadMs);
        const stopped = await beforeMoment.run(taken.atMs);
        if (stopped !== undefined) return { ok: false, stopped };
      }
      if (await this.waitUntil(taken.atMs)) return taken;
      if (tries >= maxMoments) return { ok: false, late: true };
    }
  }

  /**
   * Waits until `atMs`, never early (a timer may fire a millisecond early); answers whether an email
   * handed over now is still on time for that moment rather than late enough to crowd the ones after.
   */
  async waitUntil(atMs: number): Promise<boolean> {
    for (let waitMs = atMs - this.clock.now(); waitMs > 0; waitMs = atMs - this.clock.now()) await new Promise((resolve) => setTimeout(resolve, waitMs));
    return this.clock.now() - atMs <= this.toleranceMs;
  }

  /**
   * Takes the next free moment within `aheadMs`, or answers the wait. Taking it ahead keeps the database's
   * round trip out of the cadence, and one taken a little late counts from when it fell due (up to `graceMs`)
   * so delays do not add up; moments are never closer than the rate's own interval.
   */
  async take(aheadMs = 0): Promise<TakenMoment> {
    const now = this.clock.now();
    if (!this.created) {
      await this.db('rate_budgets').insert({ name: BUDGET, next_at: 0 }).onConflict('name').ignore();
      this.created = true;
    }
    const [taken] = (await this.db('rate_budgets')
      .where({ name: BUDGET })
      .where('next_at', '<=', now + aheadMs)
      .update({ next_at: this.db.raw(`${greatestSql(this.db, 'next_at', '?')} + ?`, [now - this.graceMs, this.intervalMs]) })
      .returning('next_at')) as Array<{ next_at: number | string }>;
    if (taken) return { ok: true, atMs: Number(taken.next_at) - this.intervalMs };
    const row = (await this.db('rate_budgets').where({ name: BUDGET }).first('next_at')) as { next_at: number | string } | undefined;
    return { ok: false, waitMs: Math.max(1, Number(row?.next_at ?? now) - now) };
  }
}
