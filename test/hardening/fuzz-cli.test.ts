import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { TEST_SECRET } from '../support/db.js';
import { fastTempDir, installChangeCounter, report, tempSqlite } from './support.js';

/**
 * Fuzzing the operator CLI's argument parsing in-process (runCli, the function `doorman` runs) on a
 * fresh temporary SQLite: every generated argument vector ends with an exit code (0, 1 or 2) and
 * readable output, never a thrown exception or a stack trace; a refused command (exit ≠ 0) changes
 * nothing in the domain tables.
 */

const RUNS = Number(process.env.HARDENING_RUNS ?? 10_000);

describe('fuzzing the CLI', () => {
  let database: Awaited<ReturnType<typeof tempSqlite>>;
  let dataDir: ReturnType<typeof fastTempDir>;
  let changes: () => Promise<number>;
  const saved = { ...process.env };
  const ids: string[] = [];
  const figures = { cases: 0, exit0: 0, exit1: 0, exit2: 0, changedOnSuccess: 0 };

  beforeAll(async () => {
    database = await tempSqlite();
    dataDir = fastTempDir('doorman-cli-data-');
    Object.assign(process.env, { DATABASE_URL: database.url, DATA_DIR: dataDir.dir, APP_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', PUBLIC_URL: 'http://doorman.test' });
    for (const key of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SMTP_URL']) delete process.env[key];
    const sink = { write: () => undefined };
    await runCli(['invite', 'a1@corp.test', 'a2@corp.test', 'a3@corp.test'], sink, sink);
    // Members for `user link-slack` to link and unlink (one already linked, whose link a fuzzed command may move).
    await runCli(['user', 'create', '--email', 'm1@corp.test', '--role', 'member'], sink, sink);
    await runCli(['user', 'create', '--email', 'm2@corp.test', '--role', 'admin', '--slack-user', 'U0LINKED'], sink, sink);
    ids.push(...(await database.db('invitations').pluck('id')));
    changes = await installChangeCounter(database.db);
  });

  afterAll(async () => {
    report('fuzz-cli', figures);
    process.env = saved;
    await database?.cleanup();
    dataDir?.cleanup();
  });

  it(`${RUNS} generated argument vectors: an exit code and one readable line, never a crash; refusals change nothing`, async () => {
    const SQLI = ["' OR 1=1 --", "'; DROP TABLE members; --", '%', '_', '\\', '\u0000', '$(rm -rf /)', '`id`'];
    const text = () => fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(...SQLI), fc.string({ unit: 'binary', maxLength: 10 }));
    const cursor = () =>
      fc.oneof(
        text(),
        fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
        fc.record({ offset: fc.oneof(fc.integer(), fc.double(), fc.constant(1e308), fc.constant(2 ** 53)) }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
        fc.record({ sort: fc.constantFrom('created', 'email', 'expires'), order: fc.constantFrom('asc', 'desc'), value: fc.oneof(fc.integer(), fc.string(), fc.constant(1e308)), id: fc.oneof(fc.string(), fc.constant("x' OR 1=1")), position: fc.oneof(fc.nat(), fc.constant(1e308)) }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
      );
    const id = () => fc.oneof(fc.constantFrom(...ids), fc.stringMatching(/^invite_[0-9A-Z]{26}$/), text());
    const option = fc.oneof(
      fc.tuple(fc.constant('--role'), fc.oneof(fc.constantFrom('admin', 'member', 'developer'), text())),
      fc.tuple(fc.constant('--status'), fc.oneof(fc.constantFrom('pending', 'expired', 'accepted', 'revoked', 'all', 'open'), text())),
      fc.tuple(fc.constant('--sort'), fc.oneof(fc.constantFrom('email', 'status', 'created', 'expires', 'password_hash'), text())),
      fc.tuple(fc.constant('--order'), fc.oneof(fc.constantFrom('asc', 'desc'), text())),
      fc.tuple(fc.constant('--search'), text()),
      fc.tuple(fc.constant('--limit'), fc.oneof(fc.integer().map(String), fc.constantFrom('1e999', 'NaN', '0x10', '-0', '1.5', '501', '100000000'), text())),
      fc.tuple(fc.constant('--cursor'), cursor()),
      fc.tuple(fc.constant('--from'), text()),
      fc.tuple(fc.constant('--email'), fc.oneof(text(), fc.constant('new@corp.test'))),
      fc.tuple(fc.constant('--password'), fc.string({ maxLength: 7 })),
      fc.tuple(fc.constant('--slack-user'), text()),
      fc.tuple(fc.constant('--state'), fc.oneof(fc.constantFrom('active', 'deactivated'), text())),
      fc.constantFrom(['--json'], ['--help'], ['--version'], ['-h'], ['--'], ['--unknown'], ['--api-token'], ['--role'], ['--limit']),
    );
    const opt = (name: string, values: fc.Arbitrary<string>) => fc.tuple(fc.constant(name), fc.oneof({ weight: 3, arbitrary: values }, { weight: 1, arbitrary: text() }));
    const json = fc.constantFrom(['--json'], [] as string[]);
    const options = (...choices: fc.Arbitrary<string[]>[]) => fc.array(fc.oneof(...choices), { maxLength: 4 }).map((o) => o.flat());
    const email = fc.oneof(fc.constantFrom('jane@corp.test', 'a1@corp.test', 'Jane <j2@corp.test>', 'not-an-email', 'x@y', '"Doe, J" <jd@corp.test>'), text());
    const argv = fc
      .oneof(
        fc.tuple(fc.constant(['invite']), fc.array(email, { maxLength: 3 }), options(opt('--role', fc.constantFrom('admin', 'member', 'developer')), opt('--from', text()), json)),
        fc.tuple(
          fc.constant(['invites']),
          fc.constant([] as string[]),
          options(
            opt('--status', fc.constantFrom('pending', 'expired', 'accepted', 'revoked', 'all', 'open')),
            opt('--sort', fc.constantFrom('email', 'status', 'created', 'expires', 'password_hash')),
            opt('--order', fc.constantFrom('asc', 'desc')),
            opt('--search', text()),
            opt('--limit', fc.oneof(fc.integer().map(String), fc.constantFrom('1e999', 'NaN', '0x10', '-0', '1.5', '501', '100000000'))),
            opt('--cursor', cursor()),
            json,
          ),
        ),
        fc.tuple(fc.constantFrom(['resend'], ['renew'], ['revoke'], ['link']), id().map((i) => [i]), options(json)),
        fc.tuple(
          fc.constant(['user', 'create']),
          fc.constant([] as string[]),
          options(opt('--email', fc.constantFrom('new@corp.test', 'a1@corp.test', 'x')), opt('--role', fc.constantFrom('admin', 'member', 'owner')), opt('--password', fc.string({ maxLength: 7 })), opt('--first-name', text()), opt('--slack-user', fc.constantFrom('U123', 'x')), fc.constant(['--api-token']), json),
        ),
        fc.tuple(
          fc.constant(['user', 'link-slack']),
          fc.tuple(fc.oneof(fc.constantFrom('m1@corp.test', 'M2@corp.test', 'nobody@corp.test', 'a1@corp.test'), text()), fc.oneof(fc.constantFrom('U024BE7LH', 'U0LINKED', 'W0ENTERPRISE', 'u024be7lh', 'U', 'C0CHANNEL', 'U0' + 'X'.repeat(40)), text())).map(([e, id]) => [e, id]),
          options(fc.constant(['--unlink']), json),
        ),
        fc.tuple(
          fc.constantFrom(['user', 'role'], ['user', 'deactivate'], ['user', 'token']),
          fc.tuple(fc.oneof(fc.constantFrom('m1@corp.test', 'M2@corp.test', 'nobody@corp.test'), text()), fc.oneof(fc.constantFrom('admin', 'member', 'developer', 'owner'), text())).map(([e, role]) => [e, role]),
          options(fc.constant(['--revoke']), json),
        ),
        fc.tuple(fc.constant(['manifest']), fc.constant([] as string[]), options(opt('--host', fc.constantFrom('doorman.example.com', 'doorman.example.com:8443', 'bad host', 'x/y', 'http://x')), fc.constant(['--socket']))),
        fc.tuple(fc.constantFrom(['user', 'list'], ['user'], ['sweep'], ['help'], ['migrate']), fc.constant([] as string[]), options(opt('--state', fc.constantFrom('active', 'deactivated')), json)),
        fc.tuple(fc.array(text(), { maxLength: 2 }), fc.array(fc.oneof(id(), email), { maxLength: 3 }), fc.array(option, { maxLength: 4 }).map((o) => o.flat())),
      )
      .map(([command, positional, rest]) => [...command, ...positional, ...rest])
      // `-` and --password-stdin read standard input, which a test has none of.
      .filter((args) => !args.includes('-') && !args.includes('--password-stdin'));

    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        let stdout = '';
        let stderr = '';
        const before = await changes();
        const code = await runCli(args, { write: (s) => void (stdout += s) }, { write: (s) => void (stderr += s) });
        const after = await changes();
        figures.cases++;
        expect([0, 1, 2], `doorman ${JSON.stringify(args)} → ${code}\n${stderr}`).toContain(code);
        figures[`exit${code as 0 | 1 | 2}`]++;
        // No stack traces, ever; an error is one line naming what is wrong.
        expect(stdout + stderr, JSON.stringify(args)).not.toMatch(/\n\s+at .+:\d+:\d+/);
        // A usage mistake is one such line too, or the command's usage when a group is named without its command.
        if (code === 1) expect(stderr, JSON.stringify(args)).toMatch(/^doorman: .+\n$/);
        if (code === 2) expect(stderr, JSON.stringify(args)).toMatch(/^doorman: .+\n$|^Usage: doorman /);
        if (code !== 0) expect(after, `doorman ${JSON.stringify(args)} failed (${code}) but changed the database`).toBe(before);
        else if (after !== before) figures.changedOnSuccess++;
      }),
      { numRuns: RUNS },
    );
    // The schema is intact after all of that: each table still reads (a dropped or broken one throws).
    for (const table of ['members', 'invitations', 'outbox', 'audit_log']) expect(Number((await database.db(table).count<{ n: number | string }[]>({ n: '*' }))[0]!.n), table).toBeGreaterThanOrEqual(0);
  }, 200_000);
});
