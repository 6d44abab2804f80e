import { defineConfig } from 'vitest/config';

/**
 * Suites that must have the machine to themselves: they restart PostgreSQL (faults-db), measure
 * latency or timing under load (load, races, secrets' constant-time check), or count thread-pool
 * use (passwords). They run one at a time, after everything else. The benchmark smoke and the mail
 * and Slack faults assert no timing, so they share the machine.
 */
const ALONE = [
  'test/hardening/faults-db.test.ts',
  'test/hardening/load.test.ts',
  'test/hardening/races.test.ts',
  'test/hardening/secrets.test.ts',
  'test/members/passwords.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // PostgreSQL at TEST_PG_URL, or a throw-away one from npm when nothing answers there.
    globalSetup: ['test/support/global-pg.ts'],
    // No test may be skipped or focused in CI.
    allowOnly: !process.env.CI,
    projects: [
      {
        extends: true,
        // Most suites wait on sockets, timers and child processes more than on the CPU: two at once
        // use both cores of a 2-core machine (vitest would otherwise run one: cores − 1).
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
