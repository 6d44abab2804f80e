import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { ROOT } from '../support/service.js';

const SUITES = ['slash-command ack', 'bulk invite', 'accept', 'memory', 'expiry sweep', 'bulk insert', 'mail', 'list import', 'mail rate'];

/** The bench run under way: killed (with its servers) when a test times out, so nothing is left running. */
let running: ReturnType<typeof spawn> | undefined;
afterEach(() => {
  running?.kill('SIGKILL');
  running = undefined;
});

function bench(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = (running = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      running = undefined;
      resolve({ code, output });
    });
  });
}

/**
 * Keeps `npm run bench` working: every suite's `--quick` smoke, on each database. It
 * asserts that each suite ran and reported figures, never a timing: the benchmark itself fails only
 * when something does not work (a refused ack, a missing email, a sweep that claimed the wrong count).
 */
describe.each(DIALECTS)('npm run bench -- --quick (%s)', (dialect) => {
  it('runs every suite and reports a figure for each measurement', async () => {
    const started = Date.now();
    const { code, output } = await bench(['--quick', ...(dialect === 'pg' ? ['--db=postgres'] : [])]);
    expect(code, output.slice(-3_000)).toBe(0);
    const name = dialect === 'pg' ? 'postgres' : 'sqlite';
    const results = JSON.parse(readFileSync(path.join(ROOT, 'bench/results', `${name}-quick.json`), 'utf8')) as {
      at: string;
      quick: boolean;
      complete: boolean;
      results: Array<{ suite: string; rows: Array<{ metric: string; floor?: unknown; doorman: unknown; ratio?: unknown }> }>;
      explained: Array<{ plan: string }>;
    };
    // Written by this run, not left over from an earlier one.
    expect(Date.parse(results.at)).toBeGreaterThanOrEqual(started - 1_000);
    expect(results.quick).toBe(true);
    expect(results.complete).toBe(true);
    expect(results.results.map((r) => r.suite)).toEqual(SUITES);
    for (const suite of results.results) {
      for (const row of suite.rows) {
        // Doorman's figure always; the floor's and the ratio where the row has them. A figure in
        // words ("12.1 / 30.5") holds numbers, none of them NaN.
        for (const [column, figure] of [['doorman', row.doorman], ['floor', row.floor], ['ratio', row.ratio]] as const) {
          if (column !== 'doorman' && figure === undefined) continue;
          const finite = typeof figure === 'number' ? Number.isFinite(figure) : typeof figure === 'string' && /\d/.test(figure) && !/NaN|Infinity/.test(figure);
          expect(finite, `${suite.suite}: ${row.metric}, ${column} = ${String(figure)}`).toBe(true);
        }
      }
    }
    // The contract's row for a pasted list: the ack of `/doorman invite <150 addresses>`.
    const bulk = results.results.find((r) => r.suite === 'bulk invite')!;
    expect(bulk.rows.map((r) => r.metric)).toContain('`/doorman invite <150>` ack p99 (ms)');
    // The first page's plans are printed for the doc: both queries, each with a plan.
    expect(results.explained.length).toBeGreaterThanOrEqual(2);
    for (const e of results.explained) expect(e.plan.length).toBeGreaterThan(0);
  }, 180_000);
});
