import { readFileSync } from 'node:fs';
import os from 'node:os';
import { isatty } from 'node:tty';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { createServices, migrateConfigured, requireMigrated, type Services } from './app.js';
import { requireServiceSecret } from './app-secret.js';
import { requireServedWith, slackServed, type ServedWith } from './served-with.js';
import { loadConfig } from './config.js';
import { sweepOnce } from './jobs/index.js';
import { outboxBacklog } from './outbox/outbox.js';
import { createLogger } from './logger.js';
import { cliActor, type Actor } from './shared/actor.js';
import { parseMoment } from './shared/clock.js';
import { ConfigError } from './shared/errors.js';
import { registerApprovalCommands } from './cli/approvals.js';
import { failureWords, jsonOption, NotConfirmed, UsageError, type CommandDeps, type OpenOptions } from './cli/command.js';
import { jsonText } from './cli/format.js';
import { registerInviteCommands } from './cli/invites.js';
import { registerMemberCommands } from './cli/members.js';
import { commandNameProblem, DEFAULT_COMMAND, slackManifest } from './slack/manifest.js';
import { reportFigures } from './report/runs.js';
import { reportPeriod } from './report/schedule.js';
import { weeklyReportText } from './report/text.js';
import { registerWebhookCommands } from './cli/webhooks.js';
import { mailRateText } from './mail/pace.js';

/**
 * `doorman` — the operator's door. It works on the same database and APP_SECRET as the service;
 * emails it queues are delivered by a running service, or by `doorman deliver` when none runs.
 */

const operator: Actor = cliActor(safeUser());

/** SLACK_COMMAND, checked as start-up checks it (the manifest needs no other configuration). */
function slackCommand(env: NodeJS.ProcessEnv): string {
  const command = env.SLACK_COMMAND?.trim() || DEFAULT_COMMAND;
  const problem = commandNameProblem(command);
  if (problem) throw new ConfigError('SLACK_COMMAND', problem);
  return command;
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'operator';
  }
}

interface Out {
  write(text: string): void;
}

/** Where a run takes its configuration and standard input from (the process's own, unless a test says otherwise). */
export interface CliSource {
  env?: NodeJS.ProcessEnv;
  stdin?: () => string;
  /** Whether a person is at the keyboard (standard input and error are a terminal). */
  interactive?: boolean;
  /** Asks a question on the terminal and answers the line typed. */
  ask?: (question: string) => Promise<string>;
}

export async function runCli(argv: string[], out: Out = process.stdout, err: Out = process.stderr, source: CliSource = {}): Promise<number> {
  const env = source.env ?? process.env;
  const stdin = source.stdin ?? (() => readFileSync(0, 'utf8'));
  let services: Services | undefined;
  /** The services on the configured database, without touching the schema; only `migrate` may create an SQLite file. */
  const connect = (options: { create?: boolean } = {}): Services => {
    if (services) return services;
    const config = loadConfig(env, { existing: !options.create });
    // LOG_LEVEL as the service reads it (trimmed, checked); unset or empty, the CLI is quieter.
    const level = env.LOG_LEVEL?.trim() ? config.logLevel : argv[0] === 'deliver' ? 'info' : 'warn';
    services = createServices(config, createLogger(level, { write: (line: string) => err.write(line) } as never), { runWorker: false });
    return services;
  };
  /** …on a database the service (or `doorman migrate`) made and brought up to date: see requireMigrated. */
  const open = async (options: OpenOptions = {}): Promise<Services> => {
    const s = connect();
    await requireMigrated(s.db);
    await requireServiceSecret(s.db, s.config.appSecret);
    if (options.asTheService) {
      const here: ServedWith = { publicUrl: s.config.publicUrl, mail: s.mail.kind, mailRate: mailRateText(s.config.mailRate), slack: slackServed(s.config.slack) };
      await requireServedWith(s.db, Object.fromEntries(options.asTheService.map((name) => [name, here[name]])));
    }
    return s;
  };
  // Stored text (an inviter's Slack display name, a mail server's words) reaches the terminal too:
  // its control characters are shown escaped, as errors show them, and never act on the terminal.
  const print = (text: string) => out.write(printable(text.endsWith('\n') ? text : text + '\n'));

  const program = new Command('doorman')
    .description('Doorman operator CLI: invitations and members on the service’s database.')
    // Commander's own usage errors read like the others: one line starting with `doorman:`.
    .configureOutput({
      writeOut: (s) => out.write(s),
      writeErr: (s) => err.write(s),
      // Its "(Did you mean …?)" comes on a line of its own: kept on the one line.
      outputError: (s, write) => write(`doorman: ${oneLine(s.replace(/^error: /, '').trimEnd().replace(/\s*\n\s*/g, ' '))} (run with --help for usage)\n`),
    })
    .exitOverride();

  // isatty, not process.stdin.isTTY: touching process.stdin makes a piped standard input non-blocking,
  // and `invite -` then fails (EAGAIN) when what feeds the pipe has not written yet.
  const interactive = source.interactive ?? (isatty(0) && isatty(2));
  const ask = source.ask ?? askOnTerminal;
  const confirm = async (question: string, opts: { yes?: boolean }) => {
    if (opts.yes || !interactive) return false;
    if (!/^y(es)?$/i.test((await ask(`${printable(question)} [y/N] `)).trim())) throw new NotConfirmed();
    return true;
  };
  const deps: CommandDeps = { open, print, operator, stdin, progress: (text) => err.write(text), cwd: startedIn(env), confirm };
  registerInviteCommands(program, deps);
  registerApprovalCommands(program, deps);
  registerMemberCommands(program, deps);

  program
    .command('manifest')
    .description('print the Slack app manifest for this configuration (SLACK_COMMAND), to create the app from')
    .option('--host <host>', 'the public host Doorman answers on (HTTP mode), e.g. doorman.example.com')
    .option('--socket', 'for Socket Mode (no public URL)')
    .action((opts: { host?: string; socket?: boolean }) => {
      if (!opts.socket && !opts.host) throw new UsageError('give --host HOST (HTTP mode) or --socket');
      // Socket Mode has no request URL: a host given with it would be dropped without a word.
      if (opts.socket && opts.host) throw new UsageError('give --host HOST (HTTP mode) or --socket, not both');
      if (opts.host && !validHost(opts.host)) throw new UsageError(`--host: "${opts.host}" is not a host name like doorman.example.com`);
      print(slackManifest({ host: opts.host ?? 'YOUR_HOST', command: slackCommand(env), socketMode: !!opts.socket }));
    });

  program
    .command('migrate')
    .description('bring the database schema up to date (npm start does this too)')
    .action(async () => {
      const applied = await migrateConfigured(connect({ create: true }).db);
      print(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'The database is up to date.');
    });

  program
    .command('sweep')
    .description('look once for expired and soon-expiring invitations and queue what announces them (Slack DMs, webhooks), and lapse the approval requests nobody decided in time (the service does this every EXPIRY_SWEEP_INTERVAL)')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const result = await sweepOnce(await open({ asTheService: ['slack'] }));
      if (opts.json) return print(jsonText(result));
      if (result.announced === false) {
        return print(`Approval requests lapsed: ${result.lapsed}. Expiries and reminders were not announced: they are Slack DMs or webhooks, and neither is set up (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or add a webhook endpoint); they are announced once one is.`);
      }
      if (result.leftToSlack) return print('Nothing claimed: an instance with Slack swept this database lately and announces to webhooks too; a sweep without Slack serves the webhooks once its promise of the next sweep has passed (an hour, or three of its sweep intervals).');
      const lapsed = result.lapsed ? `; approval requests lapsed: ${result.lapsed}` : '';
      print(`Expired: ${result.expired} newly announced; reminders: ${result.reminded}${lapsed}; ${result.notices} Slack DM(s) queued for the running service to deliver.`);
    });

  registerWebhookCommands(program, deps);

  program
    .command('report')
    .description('print the weekly invitations report: the figures the Slack report gives, with the week before beside each')
    .option('--week', 'the week up to the latest REPORT_SCHEDULE moment, or the last 7 days without one (the default)')
    .option('--at <time>', 'as it was at this moment (ISO 8601, e.g. 2026-11-30T09:00+01:00; without an offset, in REPORT_TZ)', isoTime)
    .addOption(jsonOption())
    .action(async (opts: { week?: boolean; at?: string; json?: boolean }) => {
      const s = await open();
      const now = opts.at === undefined ? s.clock.now() : parseMoment(opts.at, s.config.reportTimeZone);
      const period = reportPeriod(s.config.report?.schedule, s.config.reportTimeZone, now);
      const figures = await reportFigures(s.db, period, s.config.inviteTtlMs);
      print(opts.json ? jsonText(figures) : weeklyReportText(figures));
    });

  program
    .command('deliver')
    .description('deliver queued emails and webhooks now and exit (when no service is running)')
    .action(async () => {
      // Links and the transport as the service makes them; a refusal for good tells the inviter in Slack (onRefused).
      const s = await open({ asTheService: ['slack', 'publicUrl', 'mail', 'mailRate'] });
      const [mail, webhooks] = await Promise.all([s.outbox.drain(), s.webhooks.drain()]);
      const dropped = mail.cancelled ? ` Dropped ${mail.cancelled} no longer needed (revoked, accepted, expired or replaced by a newer link).` : '';
      // A refusal for good is the recipient's answer, not a failed try: said here, and the run still exits 0.
      const refused = mail.refused ? ` Refused for good by the mail server: ${mail.refused} email(s); their invitations show the refusal ("doorman invites").` : '';
      print(`Delivered ${mail.delivered} queued item(s) through ${s.mail.kind === 'smtp' ? 'SMTP' : `the local outbox (${s.config.dataDir}/outbox)`}.${dropped}${refused}`);
      if (webhooks.settled) print(`Webhooks: ${webhooks.delivered} delivered, ${webhooks.refused} given up, ${webhooks.cancelled} dropped (endpoint removed or disabled).`);
      // What this command delivers and still waits: failed tries, turns under MAIL_RATE, items not
      // due yet, webhooks for WEBHOOK_URLS endpoints this environment does not set.
      const ours = new Set([...s.outbox.kinds(), ...s.webhooks.kinds()]);
      const waiting = (await outboxBacklog(s.db)).filter((b) => ours.has(b.kind)).reduce((sum, b) => sum + b.pending, 0);
      const failed = mail.failed + webhooks.failed;
      if (failed) {
        throw new Error(`${failed} delivery attempt(s) failed (${mail.lastError ?? webhooks.lastError}); ${waiting} item(s) stay queued for the service or the next "doorman deliver".`);
      }
      if (waiting) print(`${waiting} item(s) stay queued for later (a retry time, MAIL_RATE, or a WEBHOOK_URLS endpoint this environment does not set): the service or a later "doorman deliver" sends them.`);
    });

  refuseRepeatedOptions(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    err.write(`doorman: ${oneLine(failureWords(error))}\n`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    if (services) {
      services.mail.close();
      await services.db.destroy();
    }
  }
}

/**
 * A host name (dot-separated labels of letters, digits, underscores and inner hyphens: the manifest's
 * own YOUR_HOST, internal names) with an optional port up to 65535.
 */
function validHost(host: string): boolean {
  const [, name, port] = /^([^:]+)(?::(\d{1,5}))?$/.exec(host) ?? [];
  if (!name || (port !== undefined && Number(port) > 65_535)) return false;
  return name.split('.').every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(label));
}

/**
 * An option given twice would keep only its last value (Commander's way): `--file a.csv --file
 * b.csv` would invite from b alone. Refused instead, as a usage mistake, so nothing typed is dropped.
 */
function refuseRepeatedOptions(command: Command): void {
  for (const option of command.options) {
    let given = false;
    command.on(`option:${option.name()}`, () => {
      if (given) throw new UsageError(`${option.long ?? option.short} was given twice; give it once`);
      given = true;
    });
  }
  for (const sub of command.commands) refuseRepeatedOptions(sub);
}

/**
 * Where relative paths start. Run as `npm run doorman`, npm moves to the package's folder and says
 * where it was typed (INIT_CWD); npm also passes INIT_CWD on to whatever its other scripts start
 * (the installed `doorman` in another project's script), where the folder is the process's own.
 */
function startedIn(env: NodeJS.ProcessEnv): string {
  return env.npm_lifecycle_event === 'doorman' && env.INIT_CWD ? env.INIT_CWD : process.cwd();
}

/**
 * Errors echo what was typed (an id, an address); control characters (and the line and paragraph
 * separators U+2028, U+2029) in it are shown escaped, so
 * an error stays one line and cannot send escape sequences to the operator's terminal.
 */
function oneLine(message: string): string {
  return escapeControls(message, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g);
}

async function askOnTerminal(question: string): Promise<string> {
  const readline = await import('node:readline/promises');
  const terminal = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}

/** Output as written, its line breaks and tabs kept; other control characters (and bidi overrides) escaped. */
function printable(text: string): string {
  return escapeControls(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g);
}

function escapeControls(text: string, controls: RegExp): string {
  return text.replace(controls, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `--at`: checked as typed; read in REPORT_TZ once the configuration is loaded (a moment without an offset is that zone's, as the schedule's are). */
function isoTime(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}(T|$)/.test(value) || Number.isNaN(parseMoment(value, 'UTC'))) {
    throw new InvalidArgumentError('must be a date and time like 2026-11-30T09:00Z or 2026-11-30T09:00+01:00');
  }
  return value;
}

const isEntry = process.argv[1] && /cli\.(ts|js)$/.test(process.argv[1]);
if (isEntry) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
