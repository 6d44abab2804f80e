import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, TEST_SECRET, type TestDatabase } from '../../test/support/db.js';
import { startServer, type ChildServer } from '../lib/children.js';
import { medusaClient, startMedusaPeer, type MedusaClient, type MedusaPeer } from '../lib/medusa-peer.js';
import type { BenchOptions } from '../lib/options.js';
import { median, percentile, round, type ResultRow, type SuiteResult } from '../lib/stats.js';

/**
 * `npm run bench -- --peer=medusa`: Doorman's admin API side by side with the real Medusa v1
 * server (`@medusajs/medusa` 1.20.x from ../shared/peers/medusa-v1, its invites API), both on the
 * local PostgreSQL, both driven by the official client `@medusajs/medusa-js`, one call at a time.
 *
 * Each round runs, per operation, a block of 25 calls on one side and then a block of 25 on the
 * other; the side that goes first alternates from round to round. Two warm-up rounds (one each
 * way) are not counted; then 2 × --runs rounds are (10 by default, 2 with --quick). Each side keeps
 * the same 100 pending invitations visible for the lists; a round then creates 25 fresh addresses
 * per side (Medusa's create of an already-invited address re-sends), resends 25 of the 100, and
 * deletes the 25 it created. The figure is each operation's median latency, Doorman ÷ Medusa,
 * against the goal of ≤ 0.9×; beside it, each server process's CPU time per call.
 *
 * Doorman runs as the other suites run it (bench/servers/doorman.ts, as `npm start` does), on a
 * fresh database of the same PostgreSQL server, with SMTP pointed at a local sink and its outbox
 * worker on: its create and resend queue an email (and an audit row) and the worker delivers it
 * meanwhile, as in production. Medusa has no mail plugin: its events go to the local event bus.
 *
 * Not part of the default run and never in CI: it needs root (start.sh manages PostgreSQL and
 * installs Medusa's ~600 packages from npm on first use) and it measures another product.
 * BENCH_TRACE_QUERIES=1 adds, per operation, the statements Doorman's knex ran per request.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BLOCK = 25;
const VISIBLE = 100;
const GOAL = 0.9;
const OPS = ['create', 'list', 'resend', 'delete'] as const;
/** The order the operations run in within a round: the lists see exactly VISIBLE invitations. */
const ROUND_ORDER = ['list', 'create', 'resend', 'delete'] as const;
type Op = (typeof OPS)[number];
type SideName = 'doorman' | 'medusa';

interface Side {
  name: SideName;
  client: MedusaClient;
  /** The server's process (Doorman's bench child, Medusa's `medusa start`): its CPU time is read from /proc. */
  pid: number;
  /** The ids of the VISIBLE pending invitations that every list returns (resend goes through them). */
  base: string[];
  /** The ids of the invitations the current round created (its delete block removes them). */
  created: string[];
  /** Every timed call's latency (ms), per operation. */
  samples: Record<Op, number[]>;
  /** Each timed block's median (ms), per operation, in round order. */
  blocks: Record<Op, number[]>;
  /** The server process's CPU time (ms, all its threads) over the timed blocks, per operation. */
  cpuMs: Record<Op, number>;
}

/**
 * A process's CPU time so far (user + system, all threads) in ms, from /proc/<pid>/stat: after the
 * command's closing parenthesis the fields start at the third (state), so utime and stime (the 14th
 * and 15th) are [11] and [12], in clock ticks of 10 ms (USER_HZ). NaN where there is no /proc.
 */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

export interface MedusaAdminContext {
  /** Servers compiled (dist/bench/servers, as the full run builds them) or run through tsx (--quick). */
  compiled: boolean;
  log: (line: string) => void;
}

const emptyPerOp = <T>(make: () => T) => Object.fromEntries(OPS.map((op) => [op, make()])) as Record<Op, T>;

function expectOk(result: unknown, what: string): void {
  const status = (result as { response?: { status?: number } }).response?.status;
  if (status !== 200) throw new Error(`${what}: answered ${String(status)}, expected 200`);
}

/** The pending invitations a side lists: email → id. */
async function listed(side: Side): Promise<Map<string, string>> {
  const { invites } = await side.client.admin.invites.list();
  return new Map((invites as Array<{ id: string; user_email: string }>).map((i) => [i.user_email, i.id]));
}

/** Creates these addresses (untimed) and returns their ids, in the same order. */
async function createAll(side: Side, emails: string[]): Promise<string[]> {
  for (const user of emails) expectOk(await side.client.admin.invites.create({ user, role: 'member' } as never), `${side.name} create ${user}`);
  const ids = await listed(side);
  return emails.map((email) => {
    const id = ids.get(email);
    if (!id) throw new Error(`${side.name}: ${email} was created but is not listed`);
    return id;
  });
}

/** One call of an operation; `i` is the call's number within its block. */
async function call(side: Side, op: Op, i: number, emails: string[], resendFrom: number): Promise<void> {
  const invites = side.client.admin.invites;
  switch (op) {
    case 'list': {
      const { invites: shown } = await invites.list();
      if (shown.length !== VISIBLE) throw new Error(`${side.name} listed ${shown.length} invitations, expected ${VISIBLE}`);
      return;
    }
    case 'create':
      return expectOk(await invites.create({ user: emails[i]!, role: 'member' } as never), `${side.name} create`);
    case 'resend':
      return expectOk(await invites.resend(side.base[(resendFrom + i) % VISIBLE]!), `${side.name} resend`);
    case 'delete': {
      const deleted = await invites.delete(side.created[i]!);
      if (deleted.deleted !== true) throw new Error(`${side.name} delete: ${JSON.stringify(deleted).slice(0, 200)}`);
      return;
    }
  }
}

/**
 * One round: per operation a block of BLOCK calls on each side, in the order given. Returns each
 * side's latencies per operation, and its server process's CPU time over each block.
 */
async function runRound(sides: [Side, Side], label: string, resendFrom: number): Promise<{ times: Map<Side, Record<Op, number[]>>; cpu: Map<Side, Record<Op, number>> }> {
  const times = new Map(sides.map((side) => [side, emptyPerOp<number[]>(() => [])]));
  const cpu = new Map(sides.map((side) => [side, emptyPerOp(() => 0)]));
  const emails = new Map(sides.map((side) => [side, Array.from({ length: BLOCK }, (_, i) => `${label}-${i}@${side.name}.bench.test`)]));
  for (const op of ROUND_ORDER) {
    for (const side of sides) {
      const cpuBefore = processCpuMs(side.pid);
      for (let i = 0; i < BLOCK; i++) {
        const started = performance.now();
        await call(side, op, i, emails.get(side)!, resendFrom);
        times.get(side)![op].push(performance.now() - started);
      }
      cpu.get(side)![op] = processCpuMs(side.pid) - cpuBefore;
    }
    if (op === 'create') {
      // Untimed: the new invitations' ids, for the delete blocks.
      for (const side of sides) {
        const ids = await listed(side);
        side.created = emails.get(side)!.map((email) => ids.get(email) ?? '');
        if (side.created.includes('')) throw new Error(`${side.name}: a created invitation is not listed`);
      }
    }
  }
  return { times, cpu };
}

function runCommand(file: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ROOT, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${[file, ...args].join(' ')}: ${String(stderr || error.message).slice(0, 1_000)}`));
      else resolve(String(stdout));
    });
  });
}

/** What knex ran, per statement (the first 90 characters), as the Doorman bench server counts it. */
type QueryCounts = Map<string, { n: number; ms: number }>;
async function queryCounts(doorman: ChildServer): Promise<QueryCounts> {
  const { queries } = await doorman.request<{ queries: Array<{ sql: string; n: number; avgMs: number }> }>('queries');
  return new Map(queries.map((q) => [q.sql, { n: q.n, ms: q.n * q.avgMs }]));
}

/**
 * Statements only the outbox worker runs (its claims, its outcomes, a batch read), told apart from
 * the request's own by their shape. Its read of one invitation looks like a request's and is not.
 */
const WORKER_SQL = /"locked_until"|set "delivery_state" = |^select \* from "invitations" where "id" in /;

/**
 * BENCH_TRACE_QUERIES: one more block per operation on Doorman alone, with the statements knex ran
 * during it divided by the calls (the Doorman bench server counts them). knex reports no response
 * for BEGIN and COMMIT, so transactions are not in the counts; the worker's statements (delivering
 * the emails queued meanwhile) are marked where their shape tells (WORKER_SQL).
 */
async function traceStatements(doorman: ChildServer, side: Side, label: string): Promise<string[]> {
  const notes: string[] = [];
  const emails = Array.from({ length: BLOCK }, (_, i) => `${label}-${i}@doorman.bench.test`);
  for (const op of ROUND_ORDER) {
    // Let the worker finish the previous block's emails first.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const before = await queryCounts(doorman);
    for (let i = 0; i < BLOCK; i++) await call(side, op, i, emails, 0);
    const after = await queryCounts(doorman);
    const lines: string[] = [];
    let own = 0;
    for (const [sql, t] of after) {
      const n = t.n - (before.get(sql)?.n ?? 0);
      if (n <= 0) continue;
      const ms = (t.ms - (before.get(sql)?.ms ?? 0)) / n;
      const worker = WORKER_SQL.test(sql);
      if (!worker) own += n / BLOCK;
      lines.push(`${(n / BLOCK).toFixed(2)} × ${ms.toFixed(2)} ms${worker ? ' (worker)' : ''}: \`${sql}\``);
    }
    notes.push(`Doorman ${op}, statements per request (knex; BEGIN/COMMIT not counted; ${round(own, 2)} not marked as the worker's): ${lines.join('; ')}`);
    if (op === 'create') {
      const ids = await listed(side);
      side.created = emails.map((email) => ids.get(email) ?? '');
    }
  }
  return notes;
}

export async function medusaAdminSuite(options: BenchOptions, context: MedusaAdminContext): Promise<SuiteResult> {
  if (process.env.CI) throw new Error('--peer=medusa is not for CI: it installs and runs the Medusa v1 server (see bench/suites/medusa-admin.ts)');
  const { log, compiled } = context;
  // A run is two rounds, one with each side first.
  const rounds = 2 * options.runs;
  const tag = Date.now().toString(36);
  const loadAtStart = os.loadavg()[0]!;
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    log('medusa-admin: starting the Medusa v1 peer (../shared/peers/medusa-v1/start.sh)');
    const peer: MedusaPeer = await startMedusaPeer(log);
    cleanups.push(() => peer.stop());
    log(`medusa-admin: Medusa at ${peer.url} (PID ${peer.pid}${peer.startedHere ? ', started here, fresh database' : ', already running: reused'})`);

    const sink = await startServer('smtp-sink', {}, compiled);
    cleanups.push(() => sink.stop());
    const database: TestDatabase = await createTestDatabase('pg');
    cleanups.push(() => database.destroy());
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'doorman-bench-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const env = { DATA_DIR: dataDir, DATABASE_URL: database.url, APP_SECRET: TEST_SECRET, PUBLIC_URL: 'http://doorman.bench', LOG_LEVEL: 'warn', NODE_ENV: 'production' };
    // The admin and its API token, made as an operator makes them: with the CLI.
    const made = JSON.parse(
      await runCommand(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'user', 'create', '--email', 'bench-admin@doorman.bench.test', '--role', 'admin', '--first-name', 'Bench', '--api-token', '--json'], env),
    ) as { apiToken?: string };
    if (!made.apiToken) throw new Error('doorman user create --api-token printed no token');
    // SMTP_URL set, no Slack: the outbox worker delivers every queued email to the sink.
    const doorman = await startServer('doorman', { ...env, PORT: '0', SMTP_URL: sink.url }, compiled);
    cleanups.push(() => doorman.stop());

    const makeSide = (name: SideName, client: MedusaClient, pid: number): Side => ({ name, client, pid, base: [], created: [], samples: emptyPerOp(() => []), blocks: emptyPerOp(() => []), cpuMs: emptyPerOp(() => 0) });
    const doormanSide = makeSide('doorman', medusaClient(doorman.url, made.apiToken), doorman.pid);
    const medusaSide = makeSide('medusa', medusaClient(peer.url, peer.apiToken), peer.pid);

    // A reused peer may hold invitations from before: each side starts from exactly VISIBLE.
    for (const id of (await listed(medusaSide)).values()) await medusaSide.client.admin.invites.delete(id);
    log(`medusa-admin: ${VISIBLE} pending invitations per side (setup, not measured)`);
    for (const s of [doormanSide, medusaSide]) s.base = await createAll(s, Array.from({ length: VISIBLE }, (_, i) => `base-${i}.${tag}@${s.name}.bench.test`));

    log(`medusa-admin: two warm-up rounds, then ${rounds} rounds of ${BLOCK} calls per operation per side`);
    await runRound([doormanSide, medusaSide], `warm-${tag}`, 0);
    await runRound([medusaSide, doormanSide], `warm2-${tag}`, BLOCK);
    const perRound: Record<Op, number[]> = emptyPerOp(() => []);
    for (let r = 0; r < rounds; r++) {
      // The side that goes first alternates, so neither always runs right after the other's writes.
      const order: [Side, Side] = r % 2 === 0 ? [doormanSide, medusaSide] : [medusaSide, doormanSide];
      const { times, cpu } = await runRound(order, `r${r}-${tag}`, (r * BLOCK) % VISIBLE);
      for (const s of order) {
        for (const op of OPS) {
          s.samples[op].push(...times.get(s)![op]);
          s.blocks[op].push(median(times.get(s)![op]));
          s.cpuMs[op] += cpu.get(s)![op];
        }
      }
      for (const op of OPS) perRound[op].push(doormanSide.blocks[op].at(-1)! / medusaSide.blocks[op].at(-1)!);
      log(`medusa-admin: round ${r + 1}/${rounds}: ${OPS.map((op) => `${op} ${perRound[op].at(-1)!.toFixed(2)}`).join(', ')}`);
    }

    const rows: ResultRow[] = OPS.map((op) => {
      const d = median(doormanSide.samples[op]);
      const m = median(medusaSide.samples[op]);
      return { metric: `${op}: median per call (ms)`, floor: round(m, 2), doorman: round(d, 2), ratio: d / m, goal: `≤ ${GOAL}× Medusa`, pass: d / m <= GOAL };
    });
    // What each server process spent on the CPU per call (its worker's deliveries meanwhile included).
    const calls = rounds * BLOCK;
    if (OPS.every((op) => Number.isFinite(doormanSide.cpuMs[op]) && Number.isFinite(medusaSide.cpuMs[op]))) {
      for (const op of OPS) {
        const d = doormanSide.cpuMs[op] / calls;
        const m = medusaSide.cpuMs[op] / calls;
        rows.push({ metric: `${op}: server CPU per call (ms)`, floor: round(m, 2), doorman: round(d, 2), ratio: d / m });
      }
    }
    const notes = [
      `floor = the real Medusa v1 server (PID ${peer.pid}${peer.startedHere ? '' : ', reused'}); both sides ${VISIBLE} pending invitations when listing; ${rounds * BLOCK} timed calls per operation per side. Load average (1 min) ${round(loadAtStart, 2)} at the start, ${round(os.loadavg()[0]!, 2)} at the end, on ${os.cpus().length} CPUs: on a busy machine the ratios move by tenths from round to round.`,
      ...OPS.map((op) => {
        const ratios = perRound[op];
        return `${op}: Doorman ÷ Medusa per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; p90 ${round(percentile(doormanSide.samples[op], 90), 2)} vs ${round(percentile(medusaSide.samples[op], 90), 2)} ms.`;
      }),
      'Doorman: create and resend also queue an email (delivered to a local SMTP sink by its worker meanwhile) and an audit row; delete keeps the row (revoked) and cancels its queued email. Medusa: one invite row (create and resend re-sign a JWT); delete removes the row.',
      'Server CPU per call: the server process (all threads, from /proc, 10 ms ticks) over the timed blocks ÷ calls; Doorman\'s includes its worker delivering the emails queued meanwhile. PostgreSQL\'s own CPU is in neither.',
    ];
    if (process.env.BENCH_TRACE_QUERIES) notes.push(...(await traceStatements(doorman, doormanSide, `trace-${tag}`)));
    return {
      suite: 'medusa-admin',
      how: `Admin API against the real Medusa v1 (@medusajs/medusa 1.20.x, invites API) on the same PostgreSQL, driven by @medusajs/medusa-js one call at a time: blocks of ${BLOCK} calls per side taking turns, ${rounds} rounds after a warm-up. floor = Medusa; ratio = Doorman ÷ Medusa.`,
      runs: rounds,
      rows,
      notes,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => log(`medusa-admin cleanup: ${error.message}`));
  }
}
