import type { Dialect } from '../../test/support/db.js';

export interface BenchOptions {
  dialect: Dialect;
  /** CI smoke: tiny sizes, one short run each, nothing asserted about timings. */
  quick: boolean;
  /** Runs per measurement (medians are taken over them). */
  runs: number;
  /** Only these suites (by name), when given. */
  only: Set<string> | undefined;
  /** Rows stored for the at-scale suites. */
  scaleRows: number;
  /**
   * `--peer=medusa`: run the medusa-admin suite (bench/suites/medusa-admin.ts) against the real
   * Medusa v1 server, and only it. Never in the default run, never in CI.
   */
  peer: 'medusa' | undefined;
}

/** The suites `--only` may name. */
export const SUITE_NAMES = ['ack', 'bulk-invite', 'accept', 'memory', 'sweep', 'bulk-insert', 'mail', 'list-import', 'mail-rate'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

export function parseOptions(argv: readonly string[]): BenchOptions {
  let dialect: Dialect = 'sqlite';
  let quick = false;
  let runs: number | undefined;
  let only: Set<string> | undefined;
  let rows: number | undefined;
  let peer: BenchOptions['peer'];
  for (const arg of argv) {
    const [key, value] = arg.split('=', 2) as [string, string | undefined];
    if (key === '--db') {
      if (value === 'sqlite') dialect = 'sqlite';
      else if (value === 'postgres' || value === 'pg') dialect = 'pg';
      else throw new Error(`--db: "${value}" is not sqlite or postgres`);
    } else if (key === '--quick') quick = true;
    else if (key === '--runs' && value && /^\d+$/.test(value)) runs = Number(value);
    else if (key === '--only' && value) {
      only = new Set(value.split(','));
      // A mistyped name would run nothing and still report every goal met.
      const unknown = [...only].filter((name) => !(SUITE_NAMES as readonly string[]).includes(name));
      if (unknown.length) throw new Error(`--only: ${unknown.join(', ')} is not a suite (${SUITE_NAMES.join(', ')})`);
    }
    else if (key === '--rows' && value && /^\d+$/.test(value)) rows = Number(value);
    else if (key === '--peer' && value === 'medusa') peer = value;
    else if (key === '--peer') throw new Error(`--peer: "${value}" is not a known peer (medusa)`);
    else if (key === '--help' || key === '-h') {
      process.stdout.write(
        `npm run bench -- [--db=sqlite|postgres] [--quick] [--runs=N] [--rows=N] [--only=${SUITE_NAMES.join(',')}]\n` +
          'npm run bench -- --peer=medusa [--quick] [--runs=N]   only the admin API against the real Medusa v1 server, on PostgreSQL (2N rounds; not in CI)\n',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  // The peer suite runs alone, on PostgreSQL (Medusa's database): it is not one of --only's suites.
  if (peer && only) throw new Error('--peer=medusa runs the medusa-admin suite alone; leave out --only');
  return { dialect, quick, runs: runs ?? (quick ? 1 : 5), only, scaleRows: rows ?? (quick ? 20_000 : 1_000_000), peer };
}

export function wanted(options: BenchOptions, suite: SuiteName): boolean {
  return !options.only || options.only.has(suite);
}
