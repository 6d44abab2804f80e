import http from 'node:http';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect } from '../support/db.js';
import { ADMIN, MEMBER_ADMIN, PLAIN, SIGNING_SECRET, SlackWorld } from '../support/slack-world.js';
import { startLoadClient, type LoadResult } from './load-client.js';
import { report, sleep } from './support.js';

/**
 * Load: 200 concurrent mixed Slack requests, signed, on loopback, for LOAD_SECONDS (30 s, as the
 * issue asks; LOAD_SECONDS=10 for a quick local run), sent from a thread of their own (load-client.ts).
 * Every request is acknowledged within 3 s, none errs, and the heap after a full GC does not grow.
 * Slack's requests are acknowledged before their work is done (a page posted to the response_url, App
 * Home published), so at the end of a saturating run thousands of handlers still wait for the
 * database; the heap is measured once they are done, and the time they took is reported.
 */

const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
/** SQLite by default; HARDENING_DIALECT=pg runs it on PostgreSQL. */
const DIALECT: Dialect = process.env.HARDENING_DIALECT === 'pg' ? 'pg' : 'sqlite';
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
let forget = () => undefined as void;
let listenerErrors = 0;
const refusedBySlack: string[] = [];
/** The first distinct error lines, to say what went wrong. */
const errorSamples = new Set<string>();
const heap = () => {
  // What the test itself keeps (the stand-in's record of every call, captured log lines) is not the app's.
  forget();
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe(`load (${DIALECT})`, () => {
  let w: SlackWorld;
  beforeAll(async () => {
    w = await SlackWorld.start(DIALECT, { logLevel: 'warn' });
    forget = () => {
      listenerErrors += w.log.errors().length;
      for (const e of w.log.errors()) if (errorSamples.size < 5) errorSamples.add(`${String(e.msg)}: ${JSON.stringify(e.err ?? '').slice(0, 300)}`);
      // Anything the app sent that Slack would have refused (an invalid message, a 6th post to a response_url…).
      refusedBySlack.push(...w.api.rejected().map((r) => ('method' in r ? `${r.method}: ${r.error}` : `response_url: ${r.error}`)).slice(0, Math.max(0, 20 - refusedBySlack.length)));
      w.api.calls.length = 0;
      w.api.responses.length = 0;
      // The stand-in's record of the response_urls it handed out (test bookkeeping, one per request).
      (w.api as unknown as { responseUrls: Map<string, unknown> }).responseUrls.clear();
      w.log.lines.length = 0;
    };
    const { invites } = w.services;
    await invites.inviteMany({ emails: Array.from({ length: 40 }, (_, i) => `load${i}@corp.test`), actor: { type: 'system' } });
  });
  /** The app's connection pool (knex's tarn pool). */
  const pool = () => (w.services.db.client as { pool: { numPendingAcquires(): number; numUsed(): number } }).pool;
  /** Until no handler has used or waited for the database for a few polls in a row (the worker polls too). */
  const appIdle = async () => {
    const until = Date.now() + 60_000;
    for (let quiet = 0; quiet < 5 && Date.now() < until; await sleep(50)) quiet = pool().numPendingAcquires() + pool().numUsed() === 0 ? quiet + 1 : 0;
  };
  let client: ReturnType<typeof startLoadClient> | undefined;
  afterAll(async () => {
    await client?.stop();
    await w?.stop();
  });

  // `invite <list>` stores before it acknowledges, within a deadline: past it, the ack says the work
  // goes on and the summary follows (src/slack/listeners/commands/invite-list.ts). The clients' thread,
  // the stand-in and the app share the machine's two cores, so on a busy machine every ack slows down.
  it(`200 concurrent mixed Slack requests for ${SECONDS} s: all acked within 3 s, no errors, memory flat`, async () => {
    client = startLoadClient(
      { endpoint: w.endpoint, signingSecret: SIGNING_SECRET, command: w.command, users: [ADMIN, MEMBER_ADMIN, PLAIN], invitationIds: await w.db.db('invitations').pluck('id') },
      (count) => Array.from({ length: count }, () => w.api.responseUrl(w.next('load'))),
    );
    const finish = (r: LoadResult) => {
      errors += r.errors;
      for (const e of r.errorSamples) if (errorSamples.size < 5) errorSamples.add(e);
      refusedBySlack.push(...r.refusedAcks.slice(0, Math.max(0, 20 - refusedBySlack.length)));
      return r;
    };
    let errors = 0;
    // Warm up, then measure the heap after a full collection.
    finish(await client.run(2_000, 200));
    // The warm-up's handlers finish first: forgetting their response_urls while they still answer
    // would make the stand-in refuse those answers.
    await appIdle();
    await sleep(1_000);
    const heapStart = heap();
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(process.memoryUsage().heapUsed), 1_000);
    // How late the app's event loop (the stand-in shares it) ran its callbacks.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    // The app's own side of each ack: from its server taking the request to the answer written.
    const appMs: number[] = [];
    const timeAck = (_req: http.IncomingMessage, res: http.ServerResponse) => {
      const t = performance.now();
      res.once('finish', () => appMs.push(performance.now() - t));
    };
    w.app.server.on('request', timeAck);
    loopDelay.enable();
    const cpuStart = process.cpuUsage();
    const { acks, byKind, statuses } = finish(await client.run(SECONDS * 1_000, 200));
    const cpu = process.cpuUsage(cpuStart);
    await client.stop();
    client = undefined;
    // CPU time of this process (clients' thread, Web API stand-in and app together) per request: what
    // the ack times rest on when the machine is shared.
    const cpuMsPerRequest = +((cpu.user + cpu.system) / 1000 / Math.max(1, acks.length)).toFixed(2);
    clearInterval(sampler);
    loopDelay.disable();
    w.app.server.off('request', timeAck);
    appMs.sort((a, b) => a - b);
    const loopDelayMs = { p50: Math.round(loopDelay.percentile(50) / 1e6), p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) };
    const waiting = pool().numPendingAcquires();
    const drainStarted = Date.now();
    await appIdle();
    const drainMs = Date.now() - drainStarted;
    await sleep(1_000);
    const heapEnd = heap();
    acks.sort((a, b) => a - b);
    const at = (ms: number[], q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(ms.length * q))] ?? 0);
    const p = (q: number) => at(acks, q);
    const figures = { seconds: SECONDS, concurrency: 200, requests: acks.length, errors, statuses, cpuMsPerRequest, loopDelayMs, atEnd: { waitingForDatabase: waiting, drainMs }, loadAverage: os.loadavg()[0]!.toFixed(2), ackMs: { p50: p(0.5), p99: p(0.99), max: Math.round(acks[acks.length - 1]!) }, appAckMs: { p99: at(appMs, 0.99), max: at(appMs, 1) }, heapStartMB: +(heapStart / 2 ** 20).toFixed(1), heapEndMB: +(heapEnd / 2 ** 20).toFixed(1), heapPeakMB: +(Math.max(...samples) / 2 ** 20).toFixed(1), listenerErrors, refusedBySlack, ackMsByKind: Object.fromEntries(Object.entries(byKind).map(([k, ms]) => { ms.sort((a, b) => a - b); return [k, { n: ms.length, p99: at(ms, 0.99), max: at(ms, 1) }]; })) };
    report(`load-${DIALECT}`, figures);
    expect({ errors, listenerErrors, samples: [...errorSamples] }).toEqual({ errors: 0, listenerErrors: 0, samples: [] });
    expect(acks[acks.length - 1]).toBeLessThan(3_000);
    expect(listenerErrors, [...errorSamples].join('\n')).toBe(0);
    expect(refusedBySlack).toEqual([]);
    // Flat: after a full GC the heap is within 25 MB of where it started.
    expect(heapEnd - heapStart).toBeLessThan(25 * 2 ** 20);
  }, 120_000);
});
