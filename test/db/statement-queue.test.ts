import { describe, expect, it } from 'vitest';
import { StatementQueue } from '../../src/db/statement-queue.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('StatementQueue', () => {
  it('runs statements one at a time, in the order queued, without the caller waiting', async () => {
    const queue = new StatementQueue();
    const log: string[] = [];
    let running = 0;
    const statement = (name: string, ms: number) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const a = queue.run(statement('a', 15));
    void queue.run(statement('b', 1));
    const c = queue.run(statement('c', 5));
    expect(log).toEqual([]);
    expect(await c).toBe('c');
    expect(await a).toBe('a');
    await queue.drained();
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('after a failure sends nothing more; later statements and drained() fail with the first error', async () => {
    const queue = new StatementQueue();
    const ran: string[] = [];
    const first = new Error('first');
    void queue.run(async () => void ran.push('ok'));
    void queue.run(async () => {
      await tick();
      throw first;
    });
    const later = queue.run(async () => {
      ran.push('later');
    });
    await expect(later).rejects.toBe(first);
    await expect(queue.drained()).rejects.toBe(first);
    await queue.settled();
    expect(ran).toEqual(['ok']);
  });

  it('a failure nobody waits for one by one is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const queue = new StatementQueue();
      void queue.run(() => Promise.reject(new Error('write failed')));
      void queue.run(async () => undefined);
      await tick();
      await tick();
      expect(unhandled).toEqual([]);
      await expect(queue.drained()).rejects.toThrow('write failed');
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('settled() waits for the statement still running', async () => {
    const queue = new StatementQueue();
    let done = false;
    void queue.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      done = true;
    });
    await queue.settled();
    expect(done).toBe(true);
  });
});
