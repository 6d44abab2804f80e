import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { extendClaims } from './claims.js';
import type { OutboxRow } from './outbox.js';

/** How long a claimed item's lease is extended at most. */
const MAX_HOLD_MS = 60 * 60_000;

/**
 * Extends the leases of a pass's claimed items while they wait or are delivered, every third of a lease, so only
 * a worker that died, lost its database or hangs lets one run out. One held past MAX_HOLD_MS (a delivery that
 * hangs) is let go, so another instance can take it up.
 */
export class LeaseKeeper {
  /** The items held, with when each was claimed. */
  private readonly items = new Map<OutboxRow, number>();
  private readonly timer: NodeJS.Timeout;
  private extending = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly leaseMs: number,
  ) {
    this.timer = setInterval(() => (this.extending = this.extend()), Math.max(50, leaseMs / 3));
    this.timer.unref?.();
  }

  hold(item: OutboxRow, claimedAt: number): void {
    this.items.set(item, claimedAt);
  }

  /** The item's outcome is recorded (which ends its lease) or it was given back. */
  drop(item: OutboxRow): void {
    this.items.delete(item);
  }

  /** Stops extending; no extension goes on after it (a stop closes the database next). */
  async end(): Promise<void> {
    clearInterval(this.timer);
    await this.extending;
  }

  private async extend(): Promise<void> {
    const now = this.clock.now();
    const held = [...this.items].filter(([, claimedAt]) => now - claimedAt < MAX_HOLD_MS).map(([item]) => item);
    const lockedUntil = now + this.leaseMs;
    try {
      const extended = await extendClaims(this.db, held, lockedUntil);
      // One another worker claimed meanwhile keeps its old end, so its turn never comes here.
      for (const item of held) if (extended.has(item.id)) item.locked_until = lockedUntil;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not extend the lease of items being delivered; another instance may take them up when it runs out');
    }
  }
}
