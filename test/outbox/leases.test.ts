import { describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/index.js';
import { createLogger } from '../../src/logger.js';
import type { OutboxHandler } from '../../src/outbox/handler.js';
import type { OutboxRow } from '../../src/outbox/outbox.js';
import { OutboxWorker } from '../../src/outbox/worker.js';
import { DIALECTS } from '../support/db.js';
import { outboxTestDatabase } from '../support/outbox.js';
import { eventually, pause } from '../support/wait.js';

const silent = createLogger('silent');
const KIND = 'test_item';
const MINUTE = 60_000;
// The keeper extends leases on a real-time timer, every third of a lease: a short lease keeps the tests quick.
const leaseMs = 300;

describe.each(DIALECTS)('LeaseKeeper, through the worker (%s)', (dialect) => {
  const { test, clock, extraDbs, queue, rows } = outboxTestDatabase(dialect, KIND);

  /** What is left of an item's lease by the manual clock (negative once it ran out). */
  const leaseLeft = async (id: number) => Number((await test.db<OutboxRow>('outbox').where({ id }).first())!.locked_until) - clock.now();

  /** Waits for the keeper to extend the item's lease to a full lease from now. */
  const extended = (id: number) => eventually(async () => (await leaseLeft(id)) === leaseMs, 5_000, `item ${id}'s lease extended`);

  const payloadOf = (item: OutboxRow) => (JSON.parse(item.payload) as { n: number }).n;

  it('an item whose delivery starts late in its batch is held for an hour from that start, not from the claim', async () => {
    await queue(2);
    const [first, second] = await rows();
    let leftAfterStart: number | undefined;
    const handler: OutboxHandler = {
      kind: KIND,
      async deliver(item) {
        if (payloadOf(item) === 0) {
          // The first delivery takes 59 minutes; the second item waits for the only lane, its lease extended meanwhile.
          clock.advance(59 * MINUTE);
          await extended(second!.id);
        } else {
          // Five minutes into the second delivery, an hour and four minutes after the claim.
          clock.advance(5 * MINUTE);
          await extended(second!.id).catch(() => undefined);
          leftAfterStart = await leaseLeft(item.id);
        }
        return { result: 'done' };
      },
    };
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { leaseMs, concurrency: 1 });
    expect(await worker.runOnce()).toBe(2);
    expect(leftAfterStart).toBe(leaseMs);
    expect((await rows()).map((row) => [row.id, row.state, row.attempts])).toEqual([
      [first!.id, 'done', 1],
      [second!.id, 'done', 1],
    ]);
  });

  it('a delivery that hangs is let go an hour after it started: its lease runs out and another instance takes the item up', async () => {
    await queue(1);
    const [item] = await rows();
    const otherDb = createDb(test.config);
    extraDbs.push(otherDb);
    const taken: number[] = [];
    const rival = new OutboxWorker(otherDb, clock, silent, [{ kind: KIND, deliver: async (row) => (taken.push(row.id), { result: 'done' }) }], { leaseMs });
    let leftWithinTheHour: number | undefined;
    let leftPastTheHour: number | undefined;
    const handler: OutboxHandler = {
      kind: KIND,
      async deliver() {
        clock.advance(59 * MINUTE);
        await extended(item!.id);
        leftWithinTheHour = await leaseLeft(item!.id);
        clock.advance(2 * MINUTE);
        // A few of the keeper's turns, none of which extends it any more.
        await pause(leaseMs * 2);
        leftPastTheHour = await leaseLeft(item!.id);
        expect(await rival.runOnce()).toBe(1);
        return { result: 'done' };
      },
    };
    const worker = new OutboxWorker(test.db, clock, silent, [handler], { leaseMs });
    await worker.runOnce();
    expect(leftWithinTheHour).toBe(leaseMs);
    expect(leftPastTheHour).toBe(leaseMs - 2 * MINUTE);
    expect(taken).toEqual([item!.id]);
    // The hung delivery's late outcome is not recorded over the rival's claim.
    expect((await rows())[0]).toMatchObject({ state: 'done', attempts: 2, locked_until: null });
  });
});
