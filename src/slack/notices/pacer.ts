import type { Clock } from '../../shared/clock.js';

/**
 * About one post a second per channel (Slack's chat.postMessage limit). A waiting message keeps the slot
 * it booked, so a backlog drains in order instead of every message retrying each second. A 429 holds all
 * channels (Slack limits per channel and per workspace; a 429 does not say which), booked slots moving back.
 */
export class ChannelPacer {
  /** Per channel: when a message was last let through. */
  private readonly posted = new Map<string, number>();
  /** Per channel: the latest slot handed out (or post let through). */
  private readonly last = new Map<string, number>();
  /** A waiting message's slot, by its key (the message's outbox id). */
  private readonly booked = new Map<string | number, number>();
  private prunedAt = -Infinity;
  /** Slack said to stop (a 429): no message to any channel before this. */
  private heldUntil = -Infinity;
  constructor(private readonly clock: Clock, private readonly gapMs = 1_000) {}

  /**
   * Slack answered 429 to `key` for `channel`: nothing goes out to any channel for `ms` (a shorter hold
   * never cuts a longer one); booked slots move back by what the hold adds, and `key` goes first after it.
   */
  rateLimited(channel: string, key: string | number, ms: number): void {
    const now = this.clock.now();
    const until = Math.max(this.heldUntil, now + ms);
    const added = until - Math.max(this.heldUntil, now);
    this.heldUntil = until;
    if (added > 0) {
      for (const [k, slot] of this.booked) this.booked.set(k, slot + added);
      for (const [c, at] of this.last) if (at > now) this.last.set(c, at + added);
    }
    this.booked.set(key, until);
    this.last.set(channel, Math.max(this.last.get(channel) ?? -Infinity, until));
  }

  /** Whether a 429's hold is still on. */
  holding(): boolean {
    return this.clock.now() < this.heldUntil;
  }

  /**
   * How long the message `key` must wait before it is posted to `channel`; 0 lets it through now.
   * A wait books a slot for `key`; the same key asking again waits for that slot only.
   */
  reserve(channel: string, key: string | number): number {
    const now = this.clock.now();
    const slot = this.booked.get(key);
    if (now < this.heldUntil) {
      // Held by a 429: a booked message keeps its slot (none comes before the hold ends); a new one
      // lines up after the hold, one gap after the last slot of its channel.
      if (slot !== undefined) return Math.max(slot, this.heldUntil) - now;
      return this.book(channel, key, Math.max(this.heldUntil, (this.last.get(channel) ?? -Infinity) + this.gapMs), now);
    }
    if (slot !== undefined && slot > now) return slot - now;
    if ((this.posted.get(channel) ?? -Infinity) + this.gapMs <= now) {
      if (slot !== undefined) this.booked.delete(key);
      this.posted.set(channel, now);
      this.last.set(channel, Math.max(this.last.get(channel) ?? -Infinity, now));
      return 0;
    }
    // The channel is not free yet: a slot at the end of the line (a late message's old one is spent).
    return this.book(channel, key, this.last.get(channel)! + this.gapMs, now);
  }

  private book(channel: string, key: string | number, slot: number, now: number): number {
    this.last.set(channel, slot);
    this.booked.set(key, slot);
    this.prune(now);
    return slot - now;
  }

  /** Slots of messages that never came back (dropped, or taken by another instance) are let go, once a minute at most. */
  private prune(now: number): void {
    if (now - this.prunedAt < 60_000 || this.booked.size + this.posted.size < 10_000) return;
    this.prunedAt = now;
    const old = now - 60_000;
    for (const [key, slot] of this.booked) if (slot < old) this.booked.delete(key);
    for (const [channel, at] of this.last) {
      if (at < old) {
        this.last.delete(channel);
        this.posted.delete(channel);
      }
    }
  }
}
