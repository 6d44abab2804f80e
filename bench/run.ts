import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPostgres } from '../src/db/index.js';
import { InvitesService } from '../src/invites/service.js';
import { PAGE_SIZE } from '../src/slack/action-values.js';
import { createTestDatabase, TEST_SECRET, type TestDatabase } from '../test/support/db.js';
import { startServer, type ChildServer } from './lib/children.js';
import type { MemoryReading } from './servers/doorman.js';
import { explainQueries, type Explained } from './lib/explain.js';
import { checkDeliveries } from './lib/outbox.js';
import { parseOptions, wanted, type BenchOptions } from './lib/options.js';
import { seedInvitations } from './lib/seed.js';
import { BENCH_ADMIN, BENCH_SIGNING_SECRET } from './lib/slack-load.js';
import { formatTable, round, timed, type SuiteResult } from './lib/stats.js';
import { acceptSuite } from './suites/accept.js';
import { bulkInsertSuite } from './suites/bulk-insert.js';
import { bulkInviteSuite } from './suites/bulk-invite.js';
import { expirySweepSuite } from './suites/expiry-sweep.js';
import { listImportSuite } from './suites/list-import.js';
import { mailSuite } from './suites/mail.js';
import { mailRateSuite } from './suites/mail-rate.js';
import { medusaAdminSuite } from './suites/medusa-admin.js';
import { slashAckSuite } from './suites/slash-ack.js';

/** One reading of where the Doorman process's memory is, for the memory suite's notes. */
function describeSpaces(m: MemoryReading): string {
  return `V8 heap ${m.heapTotal} MB (${m.heapUsed} MB used), external ${m.external} MB; anonymous memory ${m.anonymous} MB in all (the V8 heap, malloc's arenas, stacks), the rest file-backed (code).`;
}

/**
 * `npm run bench [-- --db=postgres] [--quick]`: every benchmark of docs/benchmarks.md, each as a
 * table of medians with its ratio against a floor measured in the same run. It asserts nothing
 * about timings (the machine is shared and noisy); it fails only when something does not work.
 * `npm run bench -- --peer=medusa` runs instead only the admin API against the real Medusa v1
 * server (bench/suites/medusa-admin.ts): never by default, never in CI.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const options = parseOptions(process.argv.slice(2));
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const results: SuiteResult[] = [];
const temp: string[] = [];
const servers: ChildServer[] = [];
const databases: TestDatabase[] = [];

/** Writes the results so far: after each suite (`complete: false`), so a run cut short keeps what it measured. */
let save: (complete: boolean) => string = () => '';

function report(result: SuiteResult): void {
  results.push(result);
  process.stdout.write(`\n${formatTable(result)}\n`);
  save(false);
}

/** The commit measured (read-only git), marked when the work tree differs from it. */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['--no-optional-locks', 'status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3).split('/')[0]!);
    return changed.length ? `${head} + uncommitted changes in ${[...new Set(changed)].sort().join(', ')}` : head;
  } catch {
    return 'unknown';
  }
}

async function machine(db: TestDatabase) {
  const version = isPostgres(db.db)
    ? String(((await db.db.raw('select version() as v')) as { rows: Array<{ v: string }> }).rows[0]!.v).split(',')[0]
    : `SQLite ${((await db.db.raw('select sqlite_version() as v')) as Array<{ v: string }>)[0]!.v}`;
  const cpu = os.cpus();
  return {
    commit: commit(),
    cpu: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    database: version,
    load: os.loadavg().map((n) => round(n, 2)).join(' '),
  };
}

/** Servers started together, each kept for the cleanup as soon as it is up (one failing leaves none behind). */
async function startAll<const T extends readonly Promise<ChildServer>[]>(starting: T): Promise<{ [K in keyof T]: ChildServer }> {
  const settled = await Promise.allSettled(starting);
  for (const s of settled) if (s.status === 'fulfilled') servers.push(s.value);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ChildServer>).value) as { [K in keyof T]: ChildServer };
}

async function main(options: BenchOptions): Promise<void> {
  if (!options.quick) {
    // Servers run compiled, as `npm start` runs Doorman, so their memory carries no TypeScript loader.
    log('building (tsc -p bench/tsconfig.json)');
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'bench/tsconfig.json')], { stdio: 'inherit' });
  }
  const compiled = !options.quick;
  if (options.peer === 'medusa') return peerMain(options, compiled);
  const [slackApi, sink] = await startAll([startServer('slack-api', { SLACK_BOT_TOKEN: 'xoxb-bench' }, compiled), startServer('smtp-sink', {}, compiled)]);

  const scale = await createTestDatabase(options.dialect);
  databases.push(scale);
  const info = await machine(scale);
  log(`${options.dialect}: ${JSON.stringify(info)}`);
  log(`seeding ${options.scaleRows.toLocaleString('en')} invitations (setup, not measured)`);
  const seeded = await timed(() => seedInvitations(scale.db, options.scaleRows, Date.now()));
  log(`seeded in ${Math.round(seeded.ms)} ms`);
  const invites = new InvitesService(scale.db, { now: () => Date.now() }, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.bench', inviteTtlMs: 7 * 24 * 3_600_000 });

  // The first page of `/doorman invites`: the statements the table reads it with (the page and the counts).
  const explained: Explained[] = await explainQueries(scale.db, '/doorman invites first page', () =>
    invites.listWithCounts({ status: 'pending', sort: 'created', order: 'desc', limit: PAGE_SIZE, offset: 0 }),
  );
  for (const e of explained) process.stdout.write(`\n#### EXPLAIN — ${e.what}\n\n${e.sql}\n\n${e.plan}\n`);
  // A run of some suites only (--only) keeps the last full results: it writes beside them.
  const file = path.join(ROOT, 'bench/results', `${options.dialect === 'pg' ? 'postgres' : 'sqlite'}${options.quick ? '-quick' : ''}${options.only ? '-only' : ''}.json`);
  save = (complete) => {
    const summary = { dialect: options.dialect, quick: options.quick, runs: options.runs, complete, at: new Date().toISOString(), machine: info, seedMs: Math.round(seeded.ms), results, explained };
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
    return file;
  };

  const memory: { afterStart?: number; afterRuns?: number } = {};
  if (wanted(options, 'ack') || wanted(options, 'bulk-invite') || wanted(options, 'accept') || wanted(options, 'memory')) {
    // Counts what Doorman's worker sends from here on (checked against its outbox at the end).
    await sink.request('reset');
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'doorman-bench-'));
    temp.push(dataDir);
    const doorman = await startServer(
      'doorman',
      {
        PORT: '0',
        DATA_DIR: dataDir,
        DATABASE_URL: scale.url,
        APP_SECRET: TEST_SECRET,
        PUBLIC_URL: 'http://doorman.bench',
        SMTP_URL: sink.url,
        SLACK_BOT_TOKEN: 'xoxb-bench',
        SLACK_SIGNING_SECRET: BENCH_SIGNING_SECRET,
        SLACK_API_URL: String(slackApi.url),
        SLACK_ADMIN_USER_IDS: BENCH_ADMIN,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      },
      compiled,
    );
    servers.push(doorman);
    const floor = await startServer('bare-bolt', { SLACK_SIGNING_SECRET: BENCH_SIGNING_SECRET }, compiled);
    servers.push(floor);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    memory.afterStart = await doorman.rssMb();
    const atStart = await doorman.request<MemoryReading>('memory');
    // RSS after each suite, to tell which load the memory grew under.
    const afterEach: string[] = [];
    const rssAfter = async (suite: string) => afterEach.push(`${suite} ${round(await doorman.rssMb())} MB`);
    if (wanted(options, 'ack')) {
      report(await slashAckSuite(options, { doorman, floor, slackApi }));
      await rssAfter('slash-command ack');
    }
    if (wanted(options, 'bulk-invite')) {
      report(await bulkInviteSuite(options, { doorman, floor, slackApi }));
      await rssAfter('bulk invite');
    }
    if (wanted(options, 'accept')) report(await acceptSuite(options, doorman, scale.db, invites, TEST_SECRET));
    memory.afterRuns = await doorman.rssMb();
    const spaces = await doorman.request<MemoryReading>('memory');
    // The same process once the load is over and it has been idle for 10 s (V8's memory reducer).
    await new Promise((resolve) => setTimeout(resolve, options.quick ? 500 : 10_000));
    const settled = await doorman.rssMb();
    // Last, as it changes what it reads: the heap still reachable once garbage is collected.
    const reachable = await doorman.request<MemoryReading>('collected');
    report({
      suite: 'memory',
      how: `Resident set size of the Doorman process (compiled, as \`npm start\` runs it; Slack on) with ${options.scaleRows.toLocaleString('en')} invitations stored: after start, and after the benchmarks above ran against it.`,
      runs: 1,
      rows: [
        { metric: 'RSS after start (MB)', doorman: round(memory.afterStart), goal: '≤ 150 MB', pass: memory.afterStart <= 150 },
        { metric: 'RSS after the runs (MB)', doorman: round(memory.afterRuns), goal: '≤ 150 MB', pass: memory.afterRuns <= 150 },
        { metric: 'RSS 10 s later, idle (MB)', doorman: round(settled) },
      ],
      notes: [
        `After start: ${describeSpaces(atStart)}`,
        `Right after the runs: ${describeSpaces(spaces)}`,
        ...(afterEach.length ? [`RSS right after each suite: ${afterEach.join(', ')}.`] : []),
        `After a full garbage collection at the end (read last, not a goal figure): RSS ${round(reachable.rss)} MB; ${describeSpaces(reachable)}`,
        ...(compiled ? [] : ['--quick runs the servers through tsx, which adds its own ~35 MB.']),
      ],
    });
    await checkDeliveries(scale.db, sink, slackApi);
    await doorman.stop();
    await floor.stop();
  }

  if (wanted(options, 'sweep')) {
    const smallRows = options.quick ? 5_000 : 100_000;
    const small = await createTestDatabase(options.dialect);
    databases.push(small);
    await seedInvitations(small.db, smallRows, Date.now());
    report(await expirySweepSuite(options, { db: small.db, rows: smallRows }, { db: scale.db, rows: options.scaleRows }));
  }
  if (wanted(options, 'bulk-insert')) report(await bulkInsertSuite(options));
  if (wanted(options, 'mail')) report(await mailSuite(options, sink));
  if (wanted(options, 'list-import')) report(await listImportSuite(options));
  if (wanted(options, 'mail-rate')) report(await mailRateSuite(options));

  const failed = results.flatMap((r) => r.rows.filter((row) => row.pass === false).map((row) => `${r.suite}: ${row.metric}`));
  save(true);
  process.stdout.write(`\n${failed.length ? `Goals not met: ${failed.join('; ')}` : 'Every goal met.'}\nResults: ${path.relative(ROOT, file)}\n`);
}

/**
 * `--peer=medusa`: the admin API against the real Medusa v1 server (bench/suites/medusa-admin.ts),
 * alone: the other suites' million-row seeding would leave PostgreSQL busy (autovacuum) under it.
 */
async function peerMain(options: BenchOptions, compiled: boolean): Promise<void> {
  const result = await medusaAdminSuite(options, { compiled, log });
  report(result);
  const cpu = os.cpus();
  const machine = { commit: commit(), cpu: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`, os: `${os.type()} ${os.release()}`, node: process.version, load: os.loadavg().map((n) => round(n, 2)).join(' ') };
  const file = path.join(ROOT, 'bench/results', `medusa-admin${options.quick ? '-quick' : ''}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ peer: 'medusa', quick: options.quick, at: new Date().toISOString(), machine, results }, null, 2) + '\n');
  const failed = result.rows.filter((row) => row.pass === false).map((row) => row.metric);
  process.stdout.write(`\n${failed.length ? `Goals not met: ${failed.join('; ')}` : 'Every goal met.'}\nResults: ${path.relative(ROOT, file)}\n`);
}

async function cleanup(): Promise<void> {
  await Promise.allSettled(servers.map((s) => s.stop()));
  await Promise.allSettled(databases.map((d) => d.destroy()));
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
}

// Ctrl-C or a kill: the databases (a million rows on PostgreSQL) and temporary folders go too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

const started = performance.now();
try {
  await main(options);
  log(`done in ${Math.round((performance.now() - started) / 1000)} s`);
} catch (error) {
  process.stderr.write(`bench: ${String((error as Error).stack ?? error).slice(0, 2_000)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
