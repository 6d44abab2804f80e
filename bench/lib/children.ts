import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type ServerName = 'doorman' | 'bare-bolt' | 'slack-api' | 'smtp-sink';

export interface ChildServer {
  name: ServerName;
  pid: number;
  url: string;
  info: Record<string, unknown>;
  request<T = Record<string, unknown>>(type: string, extra?: Record<string, unknown>): Promise<T>;
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

/** BENCH_PROFILE=doorman (or another server's name) writes a V8 CPU profile of it into bench/profiles/. */
function profiling(name: ServerName): string[] {
  const wanted = (process.env.BENCH_PROFILE ?? '').split(',');
  return wanted.includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, 'bench/profiles')}`] : [];
}

/**
 * How `npm start` runs Doorman (package.json's start script): any `NAME=value` set before `node`
 * and any Node flags, so that the benchmark runs it the same way. Today the script is plain
 * `node dist/src/main.js`: no environment, no flags.
 */
function startScript(): { env: Record<string, string>; flags: string[] } {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = pkg.scripts.start!.trim().split(/\s+/);
  const node = words.indexOf('node');
  if (node < 0) throw new Error(`package.json's start script does not run node: ${pkg.scripts.start}`);
  const env = Object.fromEntries(
    words.slice(0, node).map((word) => {
      const at = word.indexOf('=');
      if (at < 1) throw new Error(`package.json's start script: expected NAME=value before node, found ${word}`);
      return [word.slice(0, at), word.slice(at + 1)];
    }),
  );
  return { env, flags: words.slice(node + 1).filter((word) => word.startsWith('--')) };
}

/** The servers run with `npm start`'s environment and Node flags: Doorman. */
const STARTED_LIKE_NPM_START = new Set<ServerName>(['doorman']);

/**
 * Starts one of bench/servers/ in its own process: compiled (dist/bench/servers, what the full
 * run builds first, so memory is measured without a TypeScript loader) or through tsx (--quick).
 */
export async function startServer(name: ServerName, env: Record<string, string>, compiled: boolean): Promise<ChildServer> {
  const js = path.join(ROOT, 'dist/bench/servers', `${name}.js`);
  const ts = path.join(ROOT, 'bench/servers', `${name}.ts`);
  const useJs = compiled && existsSync(js);
  const start = STARTED_LIKE_NPM_START.has(name) ? startScript() : { env: {}, flags: [] };
  const proc: ChildProcess = fork(useJs ? js : ts, [], {
    cwd: ROOT,
    env: { ...process.env, ...start.env, ...env },
    execArgv: [...(useJs ? [] : ['--import', 'tsx']), ...start.flags, ...profiling(name)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const pending = new Map<number, (message: Record<string, unknown>) => void>();
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    proc.on('message', (raw) => {
      const message = raw as Record<string, unknown>;
      if (message.type === 'ready') return resolve(message);
      const waiter = pending.get(message.id as number);
      if (waiter) {
        pending.delete(message.id as number);
        waiter(message);
      }
    });
  });
  // A server that never says it is ready (stuck starting) fails the run instead of hanging it.
  let startTimer: NodeJS.Timeout | undefined;
  const info = await Promise.race([
    ready,
    new Promise<never>((_, reject) => {
      startTimer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${name} was not ready within 120 s`));
      }, 120_000);
    }),
  ]).finally(() => clearTimeout(startTimer));
  // A server that dies fails what was asked of it rather than leaving the suite waiting.
  proc.once('exit', (code, signal) => {
    for (const [id, waiter] of pending) {
      pending.delete(id);
      waiter({ id, error: `exited (${signal ?? code}) before it answered` });
    }
  });
  const request = <T>(type: string, extra: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      pending.set(id, (message) => (message.error ? reject(new Error(`${name}: ${String(message.error)}`)) : resolve(message as T)));
      proc.send({ id, type, ...extra });
    });
  return {
    name,
    pid: proc.pid!,
    url: String(info.url),
    info,
    request,
    async rssMb() {
      const { rss } = await request<{ rss: number }>('rss');
      return rss / 1024 / 1024;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      await Promise.race([request('stop').catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 10_000))]);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
