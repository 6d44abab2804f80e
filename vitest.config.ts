import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Suites that must have the machine to themselves: they restart PostgreSQL (faults-db), measure
 * latency or timing under load (load, races, secrets' streams of oversized bodies, MAIL_RATE's moments
 * on the real clock and as the SMTP server sees them), or count thread-pool use (passwords). They run one at a time, after everything
 * else. The benchmark smoke and the mail and Slack faults assert no timing, so they share the machine.
 */
const ALONE = [
  'test/hardening/faults-db.test.ts',
  'test/hardening/load.test.ts',
  'test/hardening/races.test.ts',
  'test/hardening/secrets.test.ts',
  'test/mail/pace-instances.test.ts',
  'test/mail/pace.test.ts',
  'test/members/passwords.test.ts',
];

/**
 * The longest shared files, started first so the workers finish together, busy ones (the benchmark
 * smoke, the fuzzers) between ones that mostly wait (list files, faults), so that the workers do
 * not all want the CPU at once. A fresh clone (CI) has no timing cache, and vitest would then start
 * larger files first, which left the ~80 s benchmark smoke (a small file) for the end.
 */
const LONGEST = [
  'test/bench/smoke.test.ts',
  'test/slack/list-file.test.ts',
  'test/hardening/fuzz-slack.test.ts',
  'test/hardening/faults-mail-slack.test.ts',
  'test/hardening/fuzz-web.test.ts',
  'test/web/accept-browser.test.ts',
  'test/hardening/fuzz-cli.test.ts',
  'test/invites/service.test.ts',
  'test/start/start.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST.findIndex((name) => f.moduleId.endsWith(name));
      return i < 0 ? LONGEST.length : i;
    };
    const group = (f: TestSpecification) => f.project.config.sequence.groupOrder;
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => group(a.f) - group(b.f) || rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // PostgreSQL at TEST_PG_URL, or a throw-away one from npm when nothing answers there.
    globalSetup: ['test/support/global-pg.ts'],
    // Each file drops the PostgreSQL databases it made once it is done (test/support/db.ts).
    setupFiles: ['test/support/setup.ts'],
    // No test may be skipped or focused in CI.
    allowOnly: !process.env.CI,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        // Most suites wait on sockets, timers and child processes more than on the CPU: four at once
        // keep a 2-core machine busy through the stretches where three all wait (vitest would otherwise
        // run one: cores − 1). What measures time
        // under load runs alone. Files share their worker's modules (not isolated: loading them again
        // for each file cost ~60 s of the run), so a file puts back what it changes: process.env,
        // timers, process listeners.
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 4, isolate: false, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
