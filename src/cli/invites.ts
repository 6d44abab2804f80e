import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Services } from '../app.js';
import { checkedChoices, EXPIRY_CHOICES, MAX_MESSAGE_CHARS, parseExpiryDays } from '../invites/choices.js';
import { MAX_FILE_BYTES, MAX_FILE_ROWS, parseListFile, tooLarge } from '../invites/list-file.js';
import { MAX_PAGE, type SortKey } from '../invites/list.js';
import { refusedWhenNothingStored, SHOWN_STATUSES, type Invitation, type InviteSummary } from '../invites/model.js';
import type { Role } from '../members/roles.js';
import { MAX_NAME_CHARS } from '../shared/actor.js';
import { InvalidInput } from '../shared/errors.js';
import { jsonOption, optionValue, roleOption, UsageError, wholeNumber, yesOption, type CommandDeps, type OpenOptions } from './command.js';
import { formatDate, formatInvitations, formatSummary, shellWord, jsonText } from './format.js';

/** What `invites` lists when not told otherwise; its next page's command leaves these out too. */
const LIST_DEFAULTS = { status: 'all', sort: 'created', limit: 50 } as const;

/** `doorman invite`, `invites`, `resend`, `renew`, `revoke`, `link`: invitations from the terminal. */
export function registerInviteCommands(program: Command, { open, print, operator, stdin, progress, cwd, confirm }: CommandDeps): void {
  program
    .command('invite')
    .description('invite one or more email addresses (a list may mix commas, spaces and "Name <email>")')
    .argument('[emails...]', 'addresses; use - to read the list from standard input')
    .addOption(roleOption())
    .option('--from <name>', `inviter name shown in the email (at most ${MAX_NAME_CHARS} characters)`, inviterName)
    .option('--expires <days>', `how long the links work: ${EXPIRY_CHOICES.map((d) => `${d}d`).join(', ')} (default INVITE_TTL)`)
    .option('--message <text>', `a personal message for the email and the accept page (at most ${MAX_MESSAGE_CHARS} characters)`)
    .option('--file <path>', `a .csv with a header row (email, and optionally first_name, last_name, role) or a .txt with one address per line, up to ${MAX_FILE_ROWS.toLocaleString('en')} addresses`)
    .addOption(jsonOption())
    .action(async (emails: string[], opts: { role: Role; from?: string; expires?: string; message?: string; file?: string; json?: boolean }) => {
      const expiresInDays = expiryOption(opts.expires);
      if (opts.file === undefined && emails.length === 0) throw new UsageError('give the addresses to invite, - to read them from standard input, or --file PATH');
      if (opts.file !== undefined) {
        if (emails.length) throw new UsageError('Give addresses or --file, not both.');
        const list = parseListFile(readListFile(path.resolve(cwd, opts.file), path.basename(opts.file)), path.basename(opts.file));
        const { invites } = await open();
        const run = await invites.createListImport({ fileName: path.basename(opts.file), file: list, role: opts.role, expiresInDays, message: opts.message, actor: operator, inviterName: opts.from ?? null });
        let state = await invites.listImportState(run.id);
        // Stored in batches, as from Slack: an interrupted run leaves what it stored, and running it again reports those as already invited.
        while (!state.done) {
          state = await invites.storeNextBatch(run);
          progress(`stored ${state.position.toLocaleString('en')} of ${state.total.toLocaleString('en')} rows\n`);
        }
        print(opts.json ? jsonText(state.summary) : formatSummary(state.summary));
        return failIfNotInvited(state.summary);
      }
      // `-` alone reads standard input; beside addresses it would be read as one.
      if (emails.length > 1 && emails.includes('-')) throw new UsageError('give - alone to read the addresses from standard input, or the addresses themselves, not both');
      const list = emails.length === 1 && emails[0] === '-' ? stdin() : emails.join('\n');
      const { invites } = await open();
      const summary = await invites.inviteMany({ emails: list, role: opts.role, actor: operator, inviterName: opts.from ?? null, expiresInDays, message: opts.message });
      print(opts.json ? jsonText(summary) : formatSummary(summary));
      failIfNotInvited(summary);
    });

  program
    .command('invites')
    .description('list invitations')
    .addOption(new Option('--status <status>', 'which invitations').choices([...SHOWN_STATUSES, 'all']).default(LIST_DEFAULTS.status))
    .addOption(new Option('--sort <column>', 'sort column').choices(['email', 'status', 'created', 'expires']).default(LIST_DEFAULTS.sort))
    .addOption(new Option('--order <order>', 'sort order').choices(['asc', 'desc']))
    .option('--search <text>', 'only emails containing this text')
    .option('--limit <n>', `rows per page (1–${MAX_PAGE})`, (v) => wholeNumber(v, 1, MAX_PAGE), LIST_DEFAULTS.limit)
    .option('--cursor <cursor>', 'continue from a previous page')
    .addOption(jsonOption())
    .action(async (opts: { status: 'all'; sort: SortKey; order?: 'asc' | 'desc'; search?: string; limit: number; cursor?: string; json?: boolean }) => {
      const { invites } = await open();
      const page = await invites.list({ status: opts.status, sort: opts.sort, order: opts.order, search: opts.search, limit: opts.limit, cursor: opts.cursor });
      // The next page's command repeats this one's choices: the cursor holds only the sort and where it stopped.
      const next = (cursor: string) =>
        [
          'doorman invites',
          ...(opts.status !== LIST_DEFAULTS.status ? [`--status ${opts.status}`] : []),
          ...(opts.sort !== LIST_DEFAULTS.sort ? [`--sort ${opts.sort}`] : []),
          ...(opts.order ? [`--order ${opts.order}`] : []),
          ...(opts.search ? [`--search ${shellWord(opts.search)}`] : []),
          ...(opts.limit !== LIST_DEFAULTS.limit ? [`--limit ${opts.limit}`] : []),
          `--cursor ${cursor}`,
        ].join(' ');
      print(opts.json ? jsonText(page) : formatInvitations(page, next));
    });

  /**
   * `question`: for a change that cannot be undone, asked first on a terminal (see CommandDeps.confirm);
   * `shown` is the moment of the invitation's sending the question showed, for `run` to act on that one only.
   * `opening`: how the services are opened (see OpenOptions).
   */
  const single = (name: string, description: string, run: (s: Services, id: string, shown?: number) => Promise<{ invitation: Invitation; line: string; link?: string }>, question?: (s: Services, id: string) => Promise<{ text: string; shown: number } | undefined>, opening: OpenOptions = {}) => {
    const command = program.command(name).description(description).argument('<id>', 'invitation id (invite_…)').addOption(jsonOption());
    if (question) command.addOption(yesOption());
    command.action(async (id: string, opts: { json?: boolean; yes?: boolean }) => {
      const s = await open(opening);
      const asked = await question?.(s, id);
      // Only a question put to someone leaves time for another change: unasked, the command acts on what it finds.
      const shown = asked && (await confirm(asked.text, opts)) ? asked.shown : undefined;
      const result = await run(s, id, shown);
      print(opts.json ? jsonText(result.link ? { ...result.invitation, link: result.link } : result.invitation) : result.line);
    });
  };

  single('resend', 'email the same link again and extend the expiry (pending invitations)', async ({ invites }, id) => {
    const invitation = await invites.resend(id, operator);
    return { invitation, line: `Resent the invitation to ${invitation.email}; it now expires ${formatDate(invitation.expiresAt)}.` };
  });
  single('renew', 'send a new invitation with a new link (expired invitations; the old link stays dead)', async ({ invites }, id) => {
    const invitation = await invites.renew(id, operator);
    return { invitation, line: `Sent a new invitation to ${invitation.email}; it expires ${formatDate(invitation.expiresAt)}.` };
  });
  single('revoke', 'revoke an invitation (pending, expired or awaiting approval); its link stops working at once', async ({ invites }, id, shown) => {
    const { invitation, changed } = await invites.revokeIfOpen(id, operator, { unlessSentAfter: shown });
    return { invitation, line: changed ? `Revoked the invitation to ${invitation.email}.` : `The invitation to ${invitation.email} was already revoked.` };
  }, async ({ invites }, id) => {
    const invitation = await invites.get(id);
    return invitation.status === 'revoked' ? undefined : { text: `Revoke the invitation to ${invitation.email}? Its link stops working at once.`, shown: invitation.lastSentAt };
  }, { asTheService: ['slack'] });
  single('link', 'print the accept link of a pending invitation', async ({ invites }, id) => {
    const { invitation, link } = await invites.copyLink(id);
    return { invitation, link, line: link };
  }, undefined, { asTheService: ['publicUrl'] });
}

function readListFile(full: string, name: string): Buffer {
  try {
    // A file too large to be a list (a disk image given by mistake) is refused before it is read into memory.
    if (statSync(full).size > MAX_FILE_BYTES) throw tooLarge(name);
    return readFileSync(full);
  } catch (error) {
    if (error instanceof InvalidInput) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (code ?? (error as Error).message);
    throw new InvalidInput(`Cannot read ${full}: ${why}.`, 'file');
  }
}

function inviterName(value: string): string {
  if (value.trim().length > MAX_NAME_CHARS) throw new InvalidArgumentError(`must be at most ${MAX_NAME_CHARS} characters`);
  return value;
}

/**
 * A request that invited nobody because its entries could not be (not addresses, past the daily
 * limit) fails after its summary, so a script notices. A list that invited some reports the rest
 * in the summary and succeeds; skips (already a member, already invited) are no failure, nor is a
 * note on an address the summary also names as invited or skipped (a file listing it again with another role).
 */
function failIfNotInvited(summary: InviteSummary): void {
  const failed = refusedWhenNothingStored(summary);
  if (failed) throw new Error(`Nobody was invited: ${failed === 1 ? 'the entry was' : `the ${failed} entries were`} refused (see above).`);
}

/** --expires in days, checked against the choices before anything is opened. */
function expiryOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return optionValue(() => {
    const days = parseExpiryDays(value);
    checkedChoices({ expiresInDays: days });
    return days;
  });
}
