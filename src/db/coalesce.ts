/**
 * Shares one read among callers asking the same thing at the same moment (a busy Invitations
 * table: many `/invites` at once each want the same first page and the same counts).
 *
 * A caller never gets the answer of a query that started before it asked — it may have just
 * written, and must read its own write — so it joins the *next* query of that key, which starts
 * as soon as the one under way ends. At most one query per key runs and one waits; everyone who
 * asked meanwhile shares the waiting one.
 */
export class ReadCoalescer {
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly waiting = new Map<string, Promise<unknown>>();

  run<T>(key: string, read: () => Promise<T>): Promise<T> {
    const waiting = this.waiting.get(key);
    if (waiting) return waiting as Promise<T>;
    const running = this.running.get(key);
    if (!running) return this.start(key, read);
    const next = running.then(ignore, ignore).then(() => {
      this.waiting.delete(key);
      return this.start(key, read);
    });
    this.waiting.set(key, next);
    return next;
  }

  private start<T>(key: string, read: () => Promise<T>): Promise<T> {
    const query = Promise.resolve().then(read);
    this.running.set(key, query);
    const done = () => {
      if (this.running.get(key) === query) this.running.delete(key);
    };
    query.then(done, done);
    return query;
  }
}

function ignore(): void {}
