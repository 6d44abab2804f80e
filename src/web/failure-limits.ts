import type { Request } from 'express';
import { ipKeyGenerator, MemoryStore } from 'express-rate-limit';

/**
 * The client's key for the failure budgets: its address, and for IPv6 its /56 — one customer's
 * allocation, where a client picks a new address at will (express-rate-limit's default for it).
 */
export function clientKey(req: Request): string {
  return `ip:${ipKeyGenerator(req.ip ?? '')}`;
}

export interface FailureBudget {
  windowMs: number;
  /** Failures allowed per key within the window; past it, failures are answered 429. */
  limit: number;
}

/**
 * Counts failed attempts (a wrong password, an unknown API token or invitation link) per key —
 * the client's address, and the account or credential tried — so that guessing is answered "too
 * many attempts" for a while. Only failures count. Tokens carry 256 bits, so their requests are
 * judged before the count is looked at (a valid one always gets in); a password attempt is counted
 * before it is checked, and given back when right (see the admin API's sign-in).
 */
export class FailureLimits {
  private readonly store = new MemoryStore();

  constructor(private readonly budget: FailureBudget) {
    this.store.init({ windowMs: budget.windowMs } as never);
  }

  /** Records a failure for each key; answers how long to wait when any of them is over its budget. */
  async failed(keys: readonly string[]): Promise<{ limited: boolean; retryAfterS: number }> {
    let limited = false;
    let resetAt = 0;
    for (const key of keys) {
      const { totalHits, resetTime } = await this.store.increment(key);
      if (totalHits > this.budget.limit) {
        limited = true;
        resetAt = Math.max(resetAt, resetTime?.getTime() ?? Date.now() + this.budget.windowMs);
      }
    }
    return { limited, retryAfterS: limited ? Math.max(1, Math.ceil((resetAt - Date.now()) / 1000)) : 0 };
  }

  /** Takes back an attempt counted before it was judged, once it turned out right. */
  async givenBack(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.store.decrement(key);
  }

  /** A success clears the account's counts (not the address's: others behind it may still be guessing). */
  async succeeded(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.store.resetKey(key);
  }

  shutdown(): void {
    this.store.shutdown();
  }
}
