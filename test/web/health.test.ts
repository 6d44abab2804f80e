import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { healthRoute, sharedHealthCheck } from '../../src/web/health.js';
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
      { freshMs: 1_000, now: () => t },
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

  it('a check that never settles fails its probes after the time limit, and the next probe starts a fresh one', async () => {
    let calls = 0;
    let hang = true;
    const check = sharedHealthCheck(
      async () => {
        calls++;
        if (hang) await new Promise(() => undefined); // a dead connection: never answers
      },
      { timeoutMs: 50 },
    );
    const started = performance.now();
    const stuck = [check(), check(), check()];
    for (const probe of stuck) await expect(probe).rejects.toThrow('the database did not answer within 50 ms');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(calls).toBe(1);
    hang = false;
    await check();
    expect(calls).toBe(2);
  });

  it('a check that throws before its first await fails its probes and is not kept', async () => {
    let calls = 0;
    const check = sharedHealthCheck(() => {
      calls++;
      if (calls === 1) throw new Error('no connection');
      return Promise.resolve();
    });
    await expect(check()).rejects.toThrow('no connection');
    await check();
    expect(calls).toBe(2);
  });

});

describe('GET /healthz', () => {
  it('200 while the database answers and 503 (logged) once it does not; HEAD and a query string too; other methods are not it', async () => {
    const test = await createTestDatabase('sqlite');
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => void lines.push(line) });
    const app = express();
    app.get('/healthz', healthRoute(sharedHealthCheck(() => test.db.raw('select 1')), logger));
    app.use((_req, res) => void res.status(404).json({ express: true }));
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ok = await fetch(`${base}/healthz`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(ok.headers.get('cache-control')).toBe('no-store');
      expect(await ok.json()).toEqual({ ok: true });
      const head = await fetch(`${base}/healthz?probe=lb`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');

      expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(404);
      expect((await fetch(`${base}/healthzz`)).status).toBe(404);

      await test.db.destroy();
      // The last success stands for a second.
      await new Promise((resolve) => setTimeout(resolve, 1_050));
      const down = await fetch(`${base}/healthz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ ok: false, error: 'database unreachable' });
      expect(lines.join('')).toContain('health check: database unreachable');
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await test.destroy().catch(() => undefined);
    }
  });
});
