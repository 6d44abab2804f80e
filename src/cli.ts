import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createServices, type Services } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { sweepIfAnyoneListens } from './jobs/index.js';
import { migrate } from './db/index.js';
import type { Invitation } from './invites/model.js';
import { SHOWN_STATUSES } from './invites/model.js';
import type { SortKey } from './invites/list.js';
import { createLogger } from './logger.js';
import { ROLES, type Role } from './members/roles.js';
import type { Actor } from './shared/actor.js';
import { DomainError, InvalidInput, NotFound } from './shared/errors.js';
import { formatDate, formatInvitations, formatMembers, formatSummary } from './cli/format.js';
import { registerApprovalCommands } from './cli/approvals.js';
import { EXPIRY_CHOICES, MAX_MESSAGE_CHARS, parseExpiryDays } from './invites/choices.js';
import { MAX_FILE_ROWS, parseListFile } from './invites/list-file.js';
import { commandNameProblem, DEFAULT_COMMAND, slackManifest } from './slack/manifest.js';
import { weeklyFigures } from './report/figures.js';
import { reportPeriod } from './report/schedule.js';
import { weeklyReportText } from './report/text.js';
import { registerWebhookCommands } from './cli/webhooks.js';

/**
 * `doorman` — the operator's door. It works on the same database and APP_SECRET as the service;
 * emails it queues are delivered by a running service, or by `doorman deliver` when none runs.
 */

const operator: Actor = { type: 'system', name: `cli:${safeUser()}` };

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
}

export async function runCli(argv: string[], out: Out = process.stdout, err: Out = process.stderr, source: CliSource = {}): Promise<number> {
  const env = source.env ?? process.env;
  const stdin = source.stdin ?? (() => readFileSync(0, 'utf8'));
  let services: Services | undefined;
  /** The services on the configured database, without touching the schema. */
  const connect = (): Services => {
    const config = loadConfig(env);
    services ??= createServices(config, createLogger(env.LOG_LEVEL ?? (argv[0] === 'deliver' ? 'info' : 'warn'), { write: (line: string) => err.write(line) } as never), { runWorker: false });
    return services;
  };
  /** …with the schema brought up to date first, as every command but `migrate` wants it. */
  const open = async (): Promise<Services> => {
    const s = connect();
    await migrate(s.db);
    return s;
  };
  const print = (text: string) => out.write(text.endsWith('\n') ? text : text + '\n');

  const program = new Command('doorman')
    .description('Doorman operator CLI: invitations and members on the service’s database.')
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const roleOption = () => new Option('--role <role>', 'role for the new member').choices(ROLES as unknown as string[]).default('member');
  const jsonOption = () => new Option('--json', 'print JSON for scripts');

  program
    .command('invite')
    .description('invite one or more email addresses (a list may mix commas, spaces and "Name <email>")')
    .argument('[emails...]', 'addresses; use - to read the list from standard input')
    .addOption(roleOption())
    .option('--from <name>', 'inviter name shown in the email')
    .option('--expires <days>', `how long the links work: ${EXPIRY_CHOICES.map((d) => `${d}d`).join(', ')} (default INVITE_TTL)`)
    .option('--message <text>', `a personal message for the email and the accept page (at most ${MAX_MESSAGE_CHARS} characters)`)
    .option('--file <path>', `a .csv with a header row (email, and optionally first_name, last_name, role) or a .txt with one address per line, up to ${MAX_FILE_ROWS.toLocaleString('en')} rows`)
    .addOption(jsonOption())
    .action(async (emails: string[], opts: { role: Role; from?: string; expires?: string; message?: string; file?: string; json?: boolean }) => {
      const expiresInDays = opts.expires === undefined ? undefined : parseExpiryDays(opts.expires);
      if (opts.file !== undefined) {
        if (emails.length) throw new InvalidInput('Give addresses or --file, not both.', 'file');
        const list = parseListFile(readListFile(opts.file), path.basename(opts.file));
        const { invites } = await open();
        const id = await invites.createListImport({ fileName: path.basename(opts.file), file: list, role: opts.role, expiresInDays, message: opts.message, actor: operator, inviterName: opts.from ?? null });
        let state = await invites.listImportState(id);
        // Stored in batches, as from Slack: an interrupted run leaves what it stored, and running it again reports those as already invited.
        while (!state.done) {
          state = await invites.storeNextBatch(id);
          err.write(`stored ${state.position.toLocaleString('en')} of ${state.total.toLocaleString('en')} rows\n`);
        }
        print(opts.json ? JSON.stringify(state.summary, null, 2) : formatSummary(state.summary));
        return;
      }
      const list = emails.length === 1 && emails[0] === '-' ? stdin() : emails.join('\n');
      const { invites } = await open();
      const summary = await invites.inviteMany({ emails: list, role: opts.role, actor: operator, inviterName: opts.from ?? null, expiresInDays, message: opts.message });
      print(opts.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    });

  program
    .command('invites')
    .description('list invitations')
    .addOption(new Option('--status <status>', 'which invitations').choices([...SHOWN_STATUSES, 'all']).default('all'))
    .addOption(new Option('--sort <column>', 'sort column').choices(['email', 'status', 'created', 'expires']).default('created'))
    .addOption(new Option('--order <order>', 'sort order').choices(['asc', 'desc']))
    .option('--search <text>', 'only emails containing this text')
    .option('--limit <n>', 'rows per page (1–500)', positiveInt, 50)
    .option('--cursor <cursor>', 'continue from a previous page')
    .addOption(jsonOption())
    .action(async (opts: { status: 'all'; sort: SortKey; order?: 'asc' | 'desc'; search?: string; limit: number; cursor?: string; json?: boolean }) => {
      const { invites } = await open();
      const page = await invites.list({ status: opts.status, sort: opts.sort, order: opts.order, search: opts.search, limit: opts.limit, cursor: opts.cursor });
      print(opts.json ? JSON.stringify(page, null, 2) : formatInvitations(page));
    });

  const single = (name: string, description: string, run: (s: Services, id: string) => Promise<{ invitation: Invitation; line: string; link?: string }>) =>
    program
      .command(name)
      .description(description)
      .argument('<id>', 'invitation id (invite_…)')
      .addOption(jsonOption())
      .action(async (id: string, opts: { json?: boolean }) => {
        const result = await run(await open(), id);
        print(opts.json ? JSON.stringify(result.link ? { ...result.invitation, link: result.link } : result.invitation, null, 2) : result.line);
      });

  single('resend', 'email the same link again and extend the expiry (pending invitations)', async ({ invites }, id) => {
    const invitation = await invites.resend(id, operator);
    return { invitation, line: `Resent the invitation to ${invitation.email}; it now expires ${formatDate(invitation.expiresAt)}.` };
  });
  single('renew', 'send a new invitation with a new link (expired invitations; the old link stays dead)', async ({ invites }, id) => {
    const invitation = await invites.sendNewInvitation(id, operator);
    return { invitation, line: `Sent a new invitation to ${invitation.email}; it expires ${formatDate(invitation.expiresAt)}.` };
  });
  single('revoke', 'revoke an invitation (pending or expired); its link stops working at once', async ({ invites }, id) => {
    const invitation = await invites.revoke(id, operator);
    return { invitation, line: `Revoked the invitation to ${invitation.email}.` };
  });
  single('link', 'print the accept link of a pending invitation', async ({ invites }, id) => {
    const { invitation, link } = await invites.copyLink(id);
    return { invitation, link, line: link };
  });

  registerApprovalCommands(program, { open, print, operator });

  const user = program.command('user').description('members');
  user
    .command('create')
    .description('create a member directly (e.g. the first admin)')
    .requiredOption('--email <email>', 'their email address')
    .addOption(roleOption())
    .option('--first-name <name>')
    .option('--last-name <name>')
    .option('--password <password>', 'set a password (prefer --password-stdin: arguments show up in shell history)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--api-token', 'issue an API token for the admin API (shown once)')
    .option('--slack-user <id>', 'link a Slack user id')
    .addOption(jsonOption())
    .action(async (opts: { email: string; role: Role; firstName?: string; lastName?: string; password?: string; passwordStdin?: boolean; apiToken?: boolean; slackUser?: string; json?: boolean }) => {
      const password = opts.passwordStdin ? stdin().replace(/\r?\n$/, '') : opts.password;
      const { members } = await open();
      const { member, apiToken } = await members.create(
        { email: opts.email, role: opts.role, firstName: opts.firstName, lastName: opts.lastName, password, withApiToken: opts.apiToken, slackUserId: opts.slackUser },
        operator,
      );
      if (opts.json) return print(JSON.stringify({ ...member, apiToken }, null, 2));
      print(`Created ${member.role} ${member.email} (${member.id}).`);
      if (apiToken) print(`API token (shown once; send it as x-medusa-access-token): ${apiToken}`);
    });
  user
    .command('link-slack')
    .description('link a member to a Slack user (or, with --unlink, remove the link); moves the Slack user from any other member')
    .argument('<email>', 'the member’s email address')
    .argument('[slackUserId]', 'their Slack user id (U…)')
    .option('--unlink', 'remove the member’s Slack link')
    .addOption(jsonOption())
    .action(async (email: string, slackUserId: string | undefined, opts: { unlink?: boolean; json?: boolean }) => {
      if (!opts.unlink && !/^[UW][A-Z0-9]{2,30}$/.test(slackUserId ?? '')) throw new InvalidInput('give a Slack user id like U024BE7LH, or --unlink');
      const { members } = await open();
      const member = await members.findByEmail(email);
      if (!member) throw new NotFound('member', email);
      const updated = await members.setSlackUser(member.id, opts.unlink ? null : slackUserId!, operator);
      if (opts.json) return print(JSON.stringify(updated, null, 2));
      print(updated.slackUserId ? `${updated.email} is now linked to Slack user ${updated.slackUserId}.` : `${updated.email} has no Slack link now.`);
    });
  user
    .command('list')
    .description('list members')
    .addOption(new Option('--state <state>').choices(['active', 'deactivated']))
    .addOption(jsonOption())
    .action(async (opts: { state?: 'active' | 'deactivated'; json?: boolean }) => {
      const { members } = await open();
      const result = await members.list({ state: opts.state, limit: 1000 });
      print(opts.json ? JSON.stringify(result, null, 2) : formatMembers(result.members));
    });

  program
    .command('manifest')
    .description('print the Slack app manifest for this configuration (SLACK_COMMAND), to create the app from')
    .option('--host <host>', 'the public host Doorman answers on (HTTP mode), e.g. doorman.example.com')
    .option('--socket', 'for Socket Mode (no public URL)')
    .action((opts: { host?: string; socket?: boolean }) => {
      if (!opts.socket && !opts.host) throw new InvalidInput('give --host HOST (HTTP mode) or --socket');
      if (opts.host && !/^[a-z0-9._-]+(:\d+)?$/i.test(opts.host)) throw new InvalidInput(`--host: "${opts.host}" is not a host name like doorman.example.com`);
      print(slackManifest({ host: opts.host ?? 'YOUR_HOST', command: slackCommand(env), socketMode: !!opts.socket }));
    });

  program
    .command('migrate')
    .description('bring the database schema up to date (npm start does this too)')
    .action(async () => {
      const applied = await migrate(connect().db);
      print(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'The database is up to date.');
    });

  program
    .command('sweep')
    .description('look for expired and soon-expiring invitations once and queue their Slack notices (the service does this every EXPIRY_SWEEP_INTERVAL)')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const sweep = await sweepIfAnyoneListens(await open());
      if (!sweep) {
        throw new ConfigError('SLACK_BOT_TOKEN', 'is not set: expiry notices are Slack DMs or webhooks, and neither is set up (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or add a webhook endpoint)');
      }
      const result = await sweep.run();
      if (opts.json) return print(JSON.stringify(result));
      const lapsed = result.lapsed ? `; approval requests lapsed: ${result.lapsed}` : '';
      print(`Expired: ${result.expired} newly announced; reminders: ${result.reminded}${lapsed}; ${result.notices} Slack DM(s) queued for the running service to deliver.`);
    });

  registerWebhookCommands(program, open, print);

  program
    .command('report')
    .description('print the weekly invitations report: the figures the Slack report gives, with the week before beside each')
    .option('--week', 'the week up to the latest REPORT_SCHEDULE moment, or the last 7 days without one (the default)')
    .option('--at <time>', 'as it was at this moment (ISO 8601, e.g. 2026-11-30T09:00+01:00)', isoTime)
    .addOption(jsonOption())
    .action(async (opts: { week?: boolean; at?: number; json?: boolean }) => {
      const s = await open();
      const now = opts.at ?? s.clock.now();
      const period = reportPeriod(s.config.report?.schedule, s.config.reportTimeZone, now);
      const figures = await weeklyFigures(s.db, period, s.config.inviteTtlMs);
      print(opts.json ? JSON.stringify(figures, null, 2) : weeklyReportText(figures));
    });

  program
    .command('deliver')
    .description('deliver queued emails and webhooks now and exit (when no service is running)')
    .action(async () => {
      const s = await open();
      const [{ delivered, cancelled }, webhooks] = await Promise.all([s.outbox.drain(), s.webhooks.drain()]);
      const dropped = cancelled ? ` Dropped ${cancelled} no longer needed (revoked, accepted, expired or replaced by a newer link).` : '';
      print(`Delivered ${delivered} queued item(s) through ${s.mail.kind === 'smtp' ? 'SMTP' : `the local outbox (${s.config.dataDir}/outbox)`}.${dropped}`);
      if (webhooks.settled) print(`Webhooks: ${webhooks.delivered} delivered, ${webhooks.refused} given up, ${webhooks.cancelled} dropped (endpoint removed or disabled).`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof DomainError || error instanceof ConfigError) {
      err.write(`doorman: ${oneLine(error.message)}\n`);
      return 1;
    }
    err.write(`doorman: ${oneLine((error as Error).message)}\n`);
    return 1;
  } finally {
    if (services) {
      services.mail.close();
      await services.db.destroy();
    }
  }
}

/**
 * Errors echo what was typed (an id, an address); control characters (and the line and paragraph
 * separators U+2028, U+2029) in it are shown escaped, so
 * an error stays one line and cannot send escape sequences to the operator's terminal.
 */
function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function isoTime(value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}(T|$)/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError('must be a date and time like 2026-11-30T09:00Z or 2026-11-30T09:00+01:00');
  return ms;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

const isEntry = process.argv[1] && /cli\.(ts|js)$/.test(process.argv[1]);
if (isEntry) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}

function readListFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new InvalidInput(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, 'file');
  }
}
