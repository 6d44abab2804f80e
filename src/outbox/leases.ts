import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { extendClaims } from './claims.js';
import type { OutboxRow } from './outbox.js';

/** How long a claimed item's lease is extended at most, from its claim while it waits, then from the start of its delivery. */
const MAX_HOLD_MS = 60 * 60_000;

/**
 * The items a worker claimed and has not finished. Their leases are extended while they wait or are delivered,
 * every third of a lease, so only a worker that died, lost its database or hangs lets one run out; one held past
 * MAX_HOLD_MS (a delivery that hangs) is let go, so another instance can take it up.
 */
export class LeaseKeeper {
  /** `since`: when the item's hour began, its claim until a lane takes it, then the start of its delivery. */
  private readonly items = new Map<number, { item: OutboxRow; since: number }>();
  private timer: NodeJS.Timeout | undefined;
  private extending = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly leaseMs: number,
  ) {}

  /** The items held: the worker's own claims pass them over, even once a lease ran out. */
  ids(): number[] {
    return [...this.items.keys()];
  }

  hold(items: readonly OutboxRow[]): void {
    const claimedAt = this.clock.now();
    for (const item of items) this.items.set(item.id, { item, since: claimedAt });
    if (this.timer || this.items.size === 0) return;
    this.timer = setInterval(() => (this.extending = this.extend()), Math.max(50, this.leaseMs / 3));
    this.timer.unref?.();
  }

  /**
   * A lane takes the item: its hour starts again, so one that waited long in its batch for a free lane is not let
   * go part way through a slow but working delivery.
   */
  start(item: OutboxRow): void {
    const held = this.items.get(item.id);
    if (held) held.since = this.clock.now();
  }

  /** The item's outcome is recorded (which ends its lease), or it was given back. */
  drop(item: OutboxRow): void {
    this.items.delete(item.id);
    if (this.items.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves once no extension is under way (a stop closes the database next). */
  settled(): Promise<void> {
    return this.extending;
  }

  private async extend(): Promise<void> {
    const now = this.clock.now();
    const held = [...this.items.values()].filter(({ since }) => now - since < MAX_HOLD_MS).map(({ item }) => item);
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
