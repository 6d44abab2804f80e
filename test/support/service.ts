import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices, type AppOptions, type Services } from '../../src/app.js';
import { runCli as runCliFunction } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { TEST_SECRET } from './db.js';

/**
 * The real Doorman, run the way operators run it: the service (`src/main.ts`) and the CLI
 * (`src/cli.ts`) as child processes with their configuration in the environment. Also the same
 * wiring in-process (`servicesFor`) for tests that drive the clock and the worker by hand.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Env = Record<string, string | undefined>;

/** Only what a child needs, so a developer's own DOORMAN/SLACK variables never leak in. */
export function childEnv(env: Env): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', TZ: 'UTC' };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

/** A temporary DATA_DIR, removed by `cleanup()`. */
export function tempDataDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'doorman-data-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `doorman …` as a real process: `node --import tsx src/cli.ts …`. */
/** `inputAfterMs`: standard input is written that long after the start, as a slow program feeding a pipe would. */
export function runCli(args: string[], env: Env, options: { input?: string; inputAfterMs?: number; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`doorman ${args.join(' ')} did not finish:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.inputAfterMs === undefined) child.stdin.end(options.input ?? '');
    else setTimeout(() => child.stdin.end(options.input ?? ''), options.inputAfterMs);
  });
}

let cliTurn: Promise<unknown> = Promise.resolve();

/**
 * `doorman …` in this process: the function the `doorman` binary runs, given the environment and
 * standard input a spawned one would get, without a second Node and tsx start-up (about a second
 * each). Runs take turns: each opens its own SQLite connection, and SQLite's busy wait blocks a
 * libuv thread, so five at once in one process can leave none for the run holding the lock (separate
 * processes, as operators run them, each have their own threads).
 */
/** `answers`: what is typed at each question, or work done meanwhile (by a colleague) before typing it. */
export function runCliHere(args: string[], env: Env, options: { input?: string; answers?: Array<string | (() => Promise<string>)> } = {}): Promise<CliResult> {
  const run = async (): Promise<CliResult> => {
    let stdout = '';
    let stderr = '';
    // With answers, as at a terminal: each question goes to standard error and takes the next answer.
    const answers = options.answers ? [...options.answers] : undefined;
    const ask = async (question: string) => {
      stderr += question;
      const answer = answers?.shift() ?? '';
      return typeof answer === 'function' ? answer() : answer;
    };
    const code = await runCliFunction(args, { write: (s) => void (stdout += s) }, { write: (s) => void (stderr += s) }, { env: childEnv(env), stdin: () => options.input ?? '', interactive: !!answers, ask });
    return { code, stdout, stderr };
  };
  const result = cliTurn.then(run, run);
  cliTurn = result.catch(() => undefined);
  return result;
}

/** The service as a child process (`node --import tsx src/main.ts`), its output kept line by line. */
export class ServiceProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private listeners: Array<() => void> = [];

  constructor(env: Env) {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (into: string[]) => {
      let partial = '';
      return (data: Buffer) => {
        const lines = (partial + data.toString()).split('\n');
        partial = lines.pop() ?? '';
        into.push(...lines);
        this.notify();
      };
    };
    this.child.stdout!.on('data', collect(this.stdout));
    this.child.stderr!.on('data', collect(this.stderr));
    // 'close', not 'exit': only then has all of its output been read.
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => this.notify());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Structured (pino) log lines on stdout. */
  logs(): Array<Record<string, unknown>> {
    return this.stdout.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Waits for a log line whose message matches. */
  async waitForLog(pattern: RegExp, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return this.waitUntil(() => this.logs().find((l) => pattern.test(String(l.msg))), timeoutMs, `a log line matching ${pattern}`);
  }

  async waitForExit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the service did not exit within ${timeoutMs} ms\n${this.output()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Ends it for good (test clean-up). */
  async dispose(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  output(): string {
    return `stdout:\n${this.stdout.join('\n')}\nstderr:\n${this.stderr.join('\n')}`;
  }

  private notify(): void {
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }

  private async waitUntil<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`the service exited before ${what}\n${this.output()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms\n${this.output()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Polls an HTTP URL until it answers (any status), for a service starting up. */
export async function waitForHttp(url: string, service: ServiceProcess, timeoutMs = 15_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (!service.running) throw new Error(`the service exited while starting\n${service.output()}`);
      if (Date.now() > deadline) throw new Error(`${url} did not answer: ${(error as Error).message}\n${service.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Doorman's own wiring (`createServices`) from an environment, in-process, with the worker left
 * off so the test drives delivery (`outbox.runOnce()` / `drain()`) and moves the clock.
 */
export function servicesFor(env: Env, options: AppOptions & { logLines?: string[] } = {}): Services {
  const config = loadConfig({ APP_SECRET: TEST_SECRET, ORG_NAME: 'Acme Corp', PUBLIC_URL: 'http://doorman.test', ...env });
  const lines = options.logLines;
  const logger = createLogger(lines ? 'info' : 'silent', lines ? { write: (line: string) => void lines.push(line) } : undefined);
  return createServices(config, logger, { runWorker: false, ...options });
}

/** Stops what `servicesFor` started: the worker, the mail transport, the database connections. */
export async function stopServices(running: Services[]): Promise<void> {
  for (const s of running.splice(0)) {
    await Promise.all([s.outbox.stop(), s.slackOutbox.stop(), s.webhooks.stop()]);
    s.mail.close();
    await s.db.destroy();
  }
}
