import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, clickPayload, MEMBER_ADMIN, PLAIN, report, sleep, startSlackApp, type SlackApp } from './support.js';

/**
 * Load: 200 concurrent mixed Slack requests, signed, on loopback, for LOAD_SECONDS (30 s, as the
 * issue asks; LOAD_SECONDS=10 for a quick local run).
 * Every request is acknowledged within 3 s, none errs, and the heap after a full GC does not grow.
 */

const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
let forget = () => undefined as void;
let listenerErrors = 0;
const heap = () => {
  // What the test itself keeps (the stand-in's record of every call, captured log lines) is not the app's.
  forget();
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('load', () => {
  let s: SlackApp;
  beforeAll(async () => {
    s = await startSlackApp({ logLevel: 'warn' });
    forget = () => {
      listenerErrors += s.log.errors().length;
      s.api.calls.length = 0;
      s.api.responses.length = 0;
      s.log.lines.length = 0;
    };
    const { invites } = s.app.services;
    await invites.inviteMany({ emails: Array.from({ length: 40 }, (_, i) => `load${i}@corp.test`), actor: { type: 'system' } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it(`200 concurrent mixed Slack requests for ${SECONDS} s: all acked within 3 s, no errors, memory flat`, async () => {
    const ids = await s.db('invitations').pluck('id');
    const users = [ADMIN, MEMBER_ADMIN, PLAIN];
    let n = 0;
    const one = async () => {
      const i = n++;
      const user = users[i % 3]!;
      switch (i % 6) {
        case 0:
          return s.command('/invites', ['pending', 'all', 'expired'][i % 3]!, user);
        case 1:
          return s.command('/members', '', user);
        case 2:
          return s.interaction(clickPayload(s, user, { action_id: 'invites_page_1', value: `all.email.asc.${(i % 4) * 10}` }));
        case 3:
          return s.interaction(clickPayload(s, user, { action_id: 'invite_copy_link_1', value: `t.${ids[i % ids.length]}.pending.created.desc.0` }));
        case 4:
          return s.command('/invite', i % 12 === 4 ? `load-new${i}@corp.test` : 'load1@corp.test', user);
        default:
          return s.event({ type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home', event_ts: `${Date.now() / 1000}` });
      }
    };
    const acks: number[] = [];
    const statuses: Record<number, number> = {};
    let errors = 0;
    const lane = async (until: number) => {
      while (Date.now() < until) {
        try {
          const r = await one();
          acks.push(r.ms);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status !== 200) errors++;
        } catch {
          errors++;
        }
      }
    };
    // Warm up, then measure the heap after a full collection.
    await Promise.all(Array.from({ length: 200 }, () => lane(Date.now() + 2_000)));
    await sleep(1_000);
    const heapStart = heap();
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(process.memoryUsage().heapUsed), 1_000);
    const started = Date.now();
    await Promise.all(Array.from({ length: 200 }, () => lane(started + SECONDS * 1_000)));
    clearInterval(sampler);
    await sleep(2_000);
    const heapEnd = heap();
    acks.sort((a, b) => a - b);
    const p = (q: number) => Math.round(acks[Math.min(acks.length - 1, Math.floor(acks.length * q))]!);
    const figures = { seconds: SECONDS, concurrency: 200, requests: acks.length, errors, statuses, ackMs: { p50: p(0.5), p99: p(0.99), max: Math.round(acks[acks.length - 1]!) }, heapStartMB: +(heapStart / 2 ** 20).toFixed(1), heapEndMB: +(heapEnd / 2 ** 20).toFixed(1), heapPeakMB: +(Math.max(...samples) / 2 ** 20).toFixed(1), listenerErrors };
    report('load', figures);
    expect(errors).toBe(0);
    expect(acks[acks.length - 1]).toBeLessThan(3_000);
    expect(listenerErrors).toBe(0);
    // Flat: after a full GC the heap is within 25 MB of where it started.
    expect(heapEnd - heapStart).toBeLessThan(25 * 2 ** 20);
  }, 120_000);
});
