import type { Knex } from 'knex';
import { trackWrites } from './writes.js';

interface Shared {
  result: Promise<unknown>;
  /** The process's finished-write count when the read started. */
  writes: number;
  /** When it answered (ms), once it has. */
  answeredAt?: number;
}

export interface ShareOptions {
  /** How long an answered read may serve later callers (still only while no write finished). */
  reuseForMs?: number;
  /**
   * From this age on, a caller served a kept answer also starts a new read in the background,
   * which replaces the answer when it arrives: a steady stream of callers never waits for a read.
   */
  refreshAfterMs?: number;
  now?: () => number;
}

/**
 * Shares one read among callers asking the same thing at the same moment (a busy Invitations
 * table: many `/invites` at once each want the same first page and the same counts).
 *
 * A caller may share a read that started after every write this process had finished when the
 * caller asked — so a caller always reads its own writes, and everyone else's that finished
 * first. Once any write finishes, callers wait for a new read: at most one runs and one waits per
 * key, and everyone who asked meanwhile shares the waiting one. With `reuseForMs`, an answered
 * read also serves callers for that long, still only while no write has finished since it began.
 *
 * Without a database to watch (`db` omitted), a caller never shares a read that began before it
 * asked.
 */
export class ReadCoalescer {
  private readonly current = new Map<string, Shared>();
  private readonly refreshing = new Map<string, Shared>();
  private readonly waiting = new Map<string, Promise<unknown>>();
  private readonly writes: { readonly n: number } | undefined;

  constructor(
    db?: Knex,
    private readonly options: ShareOptions = {},
  ) {
    this.writes = db ? trackWrites(db) : undefined;
  }

  run<T>(key: string, read: () => Promise<T>): Promise<T> {
    const waiting = this.waiting.get(key);
    if (waiting) return waiting as Promise<T>;
    const current = this.current.get(key);
    if (current && this.shareable(current)) {
      if (this.dueForRefresh(key, current)) this.refresh(key, read);
      return current.result as Promise<T>;
    }
    const refreshing = this.refreshing.get(key);
    if (refreshing && this.shareable(refreshing)) return refreshing.result as Promise<T>;
    if (!current || current.answeredAt !== undefined) return this.start(key, read);
    const next = current.result.then(ignore, ignore).then(() => {
      this.waiting.delete(key);
      return this.start(key, read);
    });
    this.waiting.set(key, next);
    return next;
  }

  private shareable(shared: Shared): boolean {
    if (!this.writes || shared.writes !== this.writes.n) return false;
    if (shared.answeredAt === undefined) return true;
    return this.now() - shared.answeredAt < (this.options.reuseForMs ?? 0);
  }

  private dueForRefresh(key: string, shared: Shared): boolean {
    const after = this.options.refreshAfterMs;
    return after !== undefined && shared.answeredAt !== undefined && this.now() - shared.answeredAt >= after && !this.refreshing.has(key);
  }

  private begin(read: () => Promise<unknown>): Shared {
    return { result: Promise.resolve().then(read), writes: this.writes?.n ?? 0 };
  }

  private start<T>(key: string, read: () => Promise<T>): Promise<T> {
    const shared = this.begin(read);
    this.current.set(key, shared);
    shared.result.then(
      () => this.answered(key, shared),
      () => {
        // A failed read is never shared again.
        if (this.current.get(key) === shared) this.current.delete(key);
      },
    );
    return shared.result as Promise<T>;
  }

  /** A background read for `key`; the answer in place keeps serving until this one arrives. */
  private refresh(key: string, read: () => Promise<unknown>): void {
    const shared = this.begin(read);
    this.refreshing.set(key, shared);
    const done = () => {
      if (this.refreshing.get(key) === shared) this.refreshing.delete(key);
    };
    shared.result.then(
      () => {
        done();
        this.current.set(key, shared);
        this.answered(key, shared);
      },
      // Nobody waits on a refresh: a failed one leaves the answer in place until it expires.
      done,
    );
  }

  private answered(key: string, shared: Shared): void {
    if (this.current.get(key) !== shared) return;
    const keepMs = this.writes ? (this.options.reuseForMs ?? 0) : 0;
    if (keepMs <= 0) return void this.current.delete(key);
    shared.answeredAt = this.now();
    // Forget it once it can serve nobody (keys are as many as the distinct questions asked).
    setTimeout(() => this.current.get(key) === shared && this.current.delete(key), keepMs).unref();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function ignore(): void {}
