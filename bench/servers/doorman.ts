import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { stopwatch } from '../lib/stats.js';
import { serve } from './ipc.js';

/**
 * Doorman as `npm start` runs it (configured by environment), in its own process so that the load
 * generator does not share its event loop and its memory can be read alone.
 */
const config = loadConfig(process.env);
const app = await startApp(config, createLogger(config.logLevel));

/** What the BENCH_* switches below collect, as bench/profiles/doorman-<pid><suffix>. */
const writeProfile = (suffix: string, data: string) => {
  mkdirSync('bench/profiles', { recursive: true });
  writeFileSync(`bench/profiles/doorman-${process.pid}${suffix}`, data);
};

// BENCH_TRACE_QUERIES=1: how long each statement took from knex's point of view (queueing included),
// written to bench/profiles/ when the process stops.
const traced = new Map<string, { n: number; ms: number }>();
if (process.env.BENCH_TRACE_QUERIES) {
  const started = new Map<string, number>();
  const db = app.services.db;
  db.on('query', (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()));
  db.on('query-response', (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
    const key = q.sql.replace(/\s+/g, ' ').slice(0, 90);
    const t = traced.get(key) ?? { n: 0, ms: 0 };
    t.n++;
    t.ms += performance.now() - (started.get(q.__knexQueryUid) ?? performance.now());
    started.delete(q.__knexQueryUid);
    traced.set(key, t);
  });
}
// `memory`: where the resident set goes (V8 heap spaces, buffers outside the heap).
const memory = () => {
  const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
  const usage = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_size)]));
  // Linux: resident anonymous memory (V8's heap, malloc's arenas, stacks) vs file-backed (code).
  const rollup = (() => {
    try {
      return readFileSync('/proc/self/smaps_rollup', 'utf8');
    } catch {
      return '';
    }
  })();
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN) * 1024;
  return { rss: mb(usage.rss), heapTotal: mb(usage.heapTotal), heapUsed: mb(usage.heapUsed), external: mb(usage.external), arrayBuffers: mb(usage.arrayBuffers), anonymous: mb(kb('Anonymous')), spaces };
};
/** What the `memory` request answers (MB), as the memory suite reads it. */
export type MemoryReading = ReturnType<typeof memory>;
// `collected`: the same reading after a full garbage collection, which tells the heap that is still
// reachable from garbage not collected yet. The memory suite asks for it last, after every figure it
// reports as measured (a collection changes what it would read). The collector is reached through
// V8's flag at run time: Doorman itself runs without it.
const collected = () => {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return memory();
};
// `loop`: how late this process's event loop ran, from the last `reset` (what a blocked loop shows).
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
// CPU time of the whole process (every thread, the thread pool's hashes included) since the last reset.
let sinceReset = stopwatch();
// Linux: the main thread's CPU time (user and system) in ms, from /proc. After the command's closing
// parenthesis the fields start at the third (state), so utime and stime (the 14th and 15th) are [11]
// and [12], in clock ticks: 100 a second (USER_HZ) on Linux.
const mainThreadMs = (): number => {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN; // not Linux: the accept suite says so instead of a figure
  }
};
let mainSince = mainThreadMs();
// BENCH_PROFILE_WINDOWS=1: a CPU profile from each `loop` reset to the next, written to
// bench/profiles/ (the accept suite resets at the start and the end of each timed run, so the
// odd-numbered windows are its measured ones, without the setup between them).
const windows = process.env.BENCH_PROFILE_WINDOWS ? new Session() : undefined;
let windowCount = 0;
if (windows) {
  windows.connect();
  await windows.post('Profiler.enable');
  await windows.post('Profiler.setSamplingInterval', { interval: 250 });
}
const nextWindow = async () => {
  if (!windows) return;
  if (windowCount > 0) {
    const { profile } = await windows.post('Profiler.stop');
    writeProfile(`-window${windowCount}.cpuprofile`, JSON.stringify(profile));
  }
  windowCount++;
  await windows.post('Profiler.start');
};
const loopDelay = async (message: Record<string, unknown>) => {
  const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
  const cpu = sinceReset();
  const figures = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max), cpuMs: Math.round(cpu.cpuMs), systemMs: Math.round(cpu.systemMs), mainMs: mainThreadMs() - mainSince };
  if (message.reset) {
    await nextWindow();
    loop.reset();
    sinceReset = stopwatch();
    mainSince = mainThreadMs();
  }
  return figures;
};
// BENCH_HEAP_SAMPLE=1: a sampling allocation profile (collected objects included) of the whole
// run, written to bench/profiles/ when the process stops: where the garbage comes from.
const sampler = process.env.BENCH_HEAP_SAMPLE ? new Session() : undefined;
if (sampler) {
  sampler.connect();
  await sampler.post('HeapProfiler.enable');
  await sampler.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
}
const stopApp = async () => {
  if (sampler) {
    const { profile } = await sampler.post('HeapProfiler.stopSampling');
    writeProfile('.heapprofile', JSON.stringify(profile));
  }
  if (process.env.BENCH_TRACE_QUERIES) {
    const rows = [...traced].sort((a, b) => b[1].ms - a[1].ms).map(([sql, t]) => `${String(t.n).padStart(8)} × ${(t.ms / t.n).toFixed(2).padStart(8)} ms  ${sql}`);
    writeProfile('.queries.txt', rows.join('\n') + '\n');
  }
  await app.stop();
};
serve({ url: app.url }, { queries: () => ({ queries: [...traced].map(([sql, t]) => ({ sql, n: t.n, avgMs: t.ms / t.n })) }), memory, collected, loop: loopDelay }, stopApp);
