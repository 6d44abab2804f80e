import { describe, expect, it } from 'vitest';
import { sharedHealthCheck } from '../../src/web/health.js';
import { createTestDatabase } from '../support/db.js';

describe('the /healthz database check, shared', () => {
  it('many probes at once make one check; a success stands for its window; a failure is checked again at the next probe', async () => {
    let t = 0;
    let calls = 0;
    let fail = false;
    let release!: () => void;
    const check = sharedHealthCheck(
      async () => {
        calls++;
        await new Promise<void>((resolve) => (release = resolve));
        if (fail) throw new Error('database unreachable');
      },
      1_000,
      () => t,
    );
    const probes = Array.from({ length: 50 }, () => check());
    expect(calls).toBe(1);
    release();
    await Promise.all(probes);
    t = 999;
    await check();
    expect(calls).toBe(1);

    // Past the window: checked again, and the failure reaches every probe waiting on it.
    t = 1_000;
    fail = true;
    const failing = [check(), check()];
    expect(calls).toBe(2);
    release();
    for (const probe of failing) await expect(probe).rejects.toThrow('database unreachable');
    // Not reused: the very next probe checks again, and a recovery shows at once.
    fail = false;
    const next = check();
    expect(calls).toBe(3);
    release();
    await next;
    await check();
    expect(calls).toBe(3);
  });

  it('against a real database: 200 probes in a burst send one health query', async () => {
    const test = await createTestDatabase('sqlite');
    try {
      const queries: string[] = [];
      test.db.on('query', (q: { sql: string }) => queries.push(q.sql));
      const check = sharedHealthCheck(() => test.db.raw('select 1'));
      await Promise.all(Array.from({ length: 200 }, () => check()));
      expect(queries).toEqual(['select 1']);
    } finally {
      await test.destroy();
    }
  });
});
