import { parseListFile } from '../../src/invites/list-file.js';
import { InvitesService } from '../../src/invites/service.js';
import { createTestDatabase, TEST_SECRET, type Dialect } from '../../test/support/db.js';
import type { BenchOptions } from '../lib/options.js';
import { median, round, type SuiteResult } from '../lib/stats.js';

const TTL = 7 * 24 * 3_600_000;
const ACTOR = { type: 'slack', slackUserId: 'U0ADMIN', name: 'Bench Admin' } as const;

function csv(run: number, size: number): string {
  // No admin rows: those wait for approval (the rule "Policy"), and this measures storing a list.
  const roles = ['', 'developer', 'member'];
  return ['email,first_name,last_name,role', ...Array.from({ length: size }, (_, i) => `f${run}x${i}@b.io,First${i},Last ${i},${roles[i % 3]}`)].join('\n');
}

async function fresh(dialect: Dialect) {
  const t = await createTestDatabase(dialect);
  const invites = new InvitesService(t.db, { now: () => Date.now() }, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.bench', inviteTtlMs: TTL });
  return { t, invites };
}

/** The floor: the same list in one invite-many call (one transaction, the list's role for all). */
async function oneCall(dialect: Dialect, text: string, size: number): Promise<number> {
  const { t, invites } = await fresh(dialect);
  try {
    const entries = parseListFile(text, 'list.csv').rows.map((r) => r.entry);
    const started = performance.now();
    const summary = await invites.inviteMany({ emails: entries, actor: ACTOR });
    const ms = performance.now() - started;
    if (summary.sent.length !== size) throw new Error(`list import floor: sent ${summary.sent.length} of ${size}`);
    return ms;
  } finally {
    await t.destroy();
  }
}

/** What a file from Slack or `invite --file` goes through: read, stored as an import, then batch by batch. */
async function fromFile(dialect: Dialect, text: string, size: number): Promise<number> {
  const { t, invites } = await fresh(dialect);
  try {
    const started = performance.now();
    const file = parseListFile(text, 'list.csv');
    const run = await invites.createListImport({ fileName: 'list.csv', file, role: 'member', actor: ACTOR });
    let state = await invites.listImportState(run.id);
    while (!state.done) state = await invites.storeNextBatch(run);
    const ms = performance.now() - started;
    if (state.summary.sent.length !== size) throw new Error(`list import: sent ${state.summary.sent.length} of ${size}`);
    return ms;
  } finally {
    await t.destroy();
  }
}

/** A 10,000-row file stored in batches against the same list in one invite-many call. */
export async function listImportSuite(options: BenchOptions): Promise<SuiteResult> {
  const size = options.quick ? 1_000 : 10_000;
  const runs = options.quick ? 1 : Math.max(3, Math.min(options.runs, 5));
  const floor: number[] = [];
  const doorman: number[] = [];
  for (let run = 0; run < runs; run++) {
    const text = csv(run, size);
    // Taking turns, so a slow moment of the machine falls on both sides alike.
    floor.push(await oneCall(options.dialect, text, size));
    doorman.push(await fromFile(options.dialect, text, size));
  }
  const ratio = median(doorman) / median(floor);
  return {
    suite: 'list import',
    how: `A ${size.toLocaleString('en')}-row CSV (email, first_name, last_name, role) read with csv-parse and stored as an import, 1,000 rows per transaction each with the import's position, against invite-many taking the same entries in one call; each run on a fresh database, the two taking turns.`,
    runs,
    rows: [
      { metric: 'time (ms)', floor: Math.round(median(floor)), doorman: Math.round(median(doorman)), ratio: round(ratio, 2), goal: '≤ 2.0× one call', pass: ratio <= 2 },
      { metric: 'rows/s', floor: Math.round(size / (median(floor) / 1000)), doorman: Math.round(size / (median(doorman) / 1000)) },
    ],
  };
}
