/** Small statistics and table printing for the benchmarks: medians of runs, percentiles of samples. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0…100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** What a stopwatch reads: wall time, and this process's CPU time over it (all threads) with the kernel's part, in ms. */
export interface Lap {
  ms: number;
  cpuMs: number;
  systemMs: number;
}

/** Starts timing; the returned function reads the time since. */
export function stopwatch(): () => Lap {
  const started = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, systemMs: used.system / 1000 };
  };
}

export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const stop = stopwatch();
  const value = await work();
  return { ms: stop().ms, value };
}

/** One line of a benchmark's result table. */
export interface ResultRow {
  /** What was measured, with its unit. */
  metric: string;
  floor?: number | string;
  doorman: number | string;
  /** doorman ÷ floor (or as the goal defines it). */
  ratio?: number;
  goal?: string;
  /** Undefined when the row states a fact rather than checks a goal. */
  pass?: boolean;
}

export interface SuiteResult {
  suite: string;
  /** How it was measured, in one line. */
  how: string;
  runs: number;
  /** What the figures are taken over, when not "median of N runs" (e.g. percentiles of N requests). */
  over?: string;
  rows: ResultRow[];
  notes?: string[];
}

function cell(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en') : value.toLocaleString('en', { maximumFractionDigits: 2 });
  return String(value);
}

/** A plain-text table (also valid Markdown). */
export function formatTable(result: SuiteResult): string {
  const head = ['metric', 'floor', 'doorman', 'ratio', 'goal', 'ok'];
  const rows = result.rows.map((r) => [r.metric, cell(r.floor), cell(r.doorman), r.ratio === undefined ? '' : r.ratio.toFixed(2), r.goal ?? '', r.pass === undefined ? '' : r.pass ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [
    `### ${result.suite} (${result.over ?? `median of ${result.runs} run${result.runs === 1 ? '' : 's'}`})`,
    result.how,
    '',
    line(head),
    '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |',
    ...rows.map(line),
    ...(result.notes?.length ? ['', ...result.notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}
