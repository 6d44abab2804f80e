import { afterEach, beforeEach } from 'vitest';
import { inTransaction, type Db } from '../../src/db/index.js';
import { enqueue, type OutboxRow } from '../../src/outbox/outbox.js';
import { createTestDatabase, ManualClock, type Dialect, type TestDatabase } from './db.js';

/**
 * A fresh database and clock for each test of the outbox (the worker's, the lease keeper's): `test`
 * and `clock` stay the same objects, filled anew before each test; `extraDbs` are closed after it.
 */
export function outboxTestDatabase(dialect: Dialect, kind: string) {
  const test = {} as TestDatabase;
  const clock = new ManualClock();
  const start = clock.current;
  const extraDbs: Db[] = [];
  beforeEach(async () => {
    Object.assign(test, await createTestDatabase(dialect));
    clock.current = start;
  });
  afterEach(async () => {
    for (const db of extraDbs.splice(0)) await db.destroy();
    await test.destroy();
  });
  /** `count` items of the test's kind, queued now. */
  const queue = (count: number) => inTransaction(test.db, (trx) => enqueue(trx, clock.now(), Array.from({ length: count }, (_, i) => ({ kind, payload: { n: i } }))));
  const rows = () => test.db<OutboxRow>('outbox').orderBy('id');
  return { test, clock, extraDbs, queue, rows };
}
