/**
 * Statements for one transaction, sent one after another in the order they were queued, without
 * the caller waiting for each: it can prepare the next batch while the database stores the last.
 *
 * One at a time, because SQLite's driver would otherwise run them side by side on its thread pool
 * (in no fixed order), and a transaction must not end while one is still running. After a failure
 * nothing more is sent: every statement queued after it fails with the same error.
 */
export class StatementQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Queues `statement` after everything queued before it; the result is its own. */
  run<T>(statement: () => Promise<T>): Promise<T> {
    const result = this.tail.then(statement);
    this.tail = result;
    // Queued writes are often not waited for one by one: `drained()` reports their failure.
    result.catch(() => undefined);
    return result;
  }

  /** Waits for everything queued so far; throws the first failure. */
  async drained(): Promise<void> {
    await this.tail;
  }

  /** Waits for everything queued so far to finish or fail (nothing is running afterwards). */
  async settled(): Promise<void> {
    await this.tail.then(
      () => undefined,
      () => undefined,
    );
  }
}
