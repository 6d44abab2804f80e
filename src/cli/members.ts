import { Argument, Option, type Command } from 'commander';
import { ROLES, type Role } from '../members/roles.js';
import { MAX_MEMBERS_PAGE } from '../members/service.js';
import { jsonOption, roleOption, UsageError, wholeNumber, yesOption, type CommandDeps } from './command.js';
import { formatMembers, jsonText } from './format.js';

/** `doorman user create|role|deactivate|token|link-slack|list`: members, the first admin included; what Slack's members list does, without Slack. */
export function registerMemberCommands(program: Command, { open, print, operator, stdin, confirm }: CommandDeps): void {
  const user = program.command('user').description('members');
  user
    .command('create')
    .description('create a member directly (e.g. the first admin)')
    .requiredOption('--email <email>', 'their email address (required)')
    .addOption(roleOption())
    .option('--first-name <name>')
    .option('--last-name <name>')
    .option('--password <password>', 'set a password (prefer --password-stdin: arguments show up in shell history)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--api-token', 'issue an API token for the admin API (shown once)')
    .option('--slack-user <id>', 'link a Slack user id')
    .addOption(jsonOption())
    .action(async (opts: { email: string; role: Role; firstName?: string; lastName?: string; password?: string; passwordStdin?: boolean; apiToken?: boolean; slackUser?: string; json?: boolean }) => {
      if (opts.passwordStdin && opts.password !== undefined) throw new UsageError('give --password or --password-stdin, not both');
      const password = opts.passwordStdin ? stdin().replace(/\r?\n$/, '') : opts.password;
      const { members, invites } = await open();
      const { member, apiToken } = await members.create(
        { email: opts.email, role: opts.role, firstName: opts.firstName, lastName: opts.lastName, password, withApiToken: opts.apiToken, slackUserId: opts.slackUser },
        operator,
      );
      const { revoked, held } = await invites.closeForNewMember(member.email, operator);
      if (opts.json) return print(jsonText({ ...member, apiToken, revokedInvitations: revoked.map((i) => i.id) }));
      print(`Created ${member.role} ${member.email} (${member.id}).`);
      for (const invitation of revoked) print(`Revoked their open invitation (${invitation.id}): they are a member now, so its link could only fail.`);
      for (const invitation of held) print(`Their invitation ${invitation.id} still awaits approval; an approval now answers "already a member" (deny it: doorman deny ${invitation.id}).`);
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
      if (!opts.unlink && slackUserId === undefined) throw new UsageError('give a Slack user id like U024BE7LH, or --unlink');
      if (opts.unlink && slackUserId !== undefined) throw new UsageError('give a Slack user id or --unlink, not both');
      const { members } = await open();
      const member = await members.getByEmail(email);
      const updated = await members.setSlackUser(member.id, opts.unlink ? null : slackUserId!, operator);
      if (opts.json) return print(jsonText(updated));
      print(updated.slackUserId ? `${updated.email} is now linked to Slack user ${updated.slackUserId}.` : `${updated.email} has no Slack link now.`);
    });
  user
    .command('role')
    .description('change a member’s role (the last active admin keeps theirs); audited')
    .argument('<email>', 'the member’s email address')
    .addArgument(new Argument('<role>', 'their new role').choices([...ROLES]))
    .addOption(jsonOption())
    .action(async (email: string, role: Role, opts: { json?: boolean }) => {
      const { members } = await open();
      const updated = await members.setRole((await members.getByEmail(email)).id, role, operator);
      print(opts.json ? jsonText(updated) : `${updated.email} is now ${updated.role}.`);
    });
  user
    .command('deactivate')
    .description('deactivate a member: their API token, sessions and sign-in end at once (the last active admin stays); audited')
    .argument('<email>', 'the member’s email address')
    .addOption(yesOption())
    .addOption(jsonOption())
    .action(async (email: string, opts: { json?: boolean; yes?: boolean }) => {
      const { members } = await open();
      const member = await members.getByEmail(email);
      await confirm(`Deactivate ${member.email}? Their sign-in, sessions and API token end at once.`, opts);
      const updated = await members.deactivate(member.id, operator);
      print(opts.json ? jsonText(updated) : `${updated.email} is deactivated.`);
    });
  user
    .command('token')
    .description('issue a member a new API token, replacing any older one (shown once), or with --revoke end it; audited')
    .argument('<email>', 'the member’s email address')
    .option('--revoke', 'end the member’s API token without issuing another')
    .addOption(yesOption())
    .addOption(jsonOption())
    .action(async (email: string, opts: { revoke?: boolean; json?: boolean; yes?: boolean }) => {
      const { members } = await open();
      const member = await members.getByEmail(email);
      if (member.hasApiToken) await confirm(`${opts.revoke ? 'End' : 'Replace'} ${member.email}'s API token? Scripts using it stop working at once.`, opts);
      if (opts.revoke) {
        const revoked = await members.revokeApiToken(member.id, operator);
        return print(opts.json ? jsonText({ email: member.email, revoked }) : revoked ? `${member.email}'s API token no longer works.` : `${member.email} had no API token.`);
      }
      const apiToken = await members.issueApiToken(member.id, operator);
      print(opts.json ? jsonText({ email: member.email, apiToken }) : `API token for ${member.email} (shown once; send it as x-medusa-access-token; any older one no longer works): ${apiToken}`);
    });
  user
    .command('list')
    .description('list members')
    .addOption(new Option('--state <state>').choices(['active', 'deactivated']))
    .option('--limit <n>', `rows per page (1–${MAX_MEMBERS_PAGE})`, (v) => wholeNumber(v, 1, MAX_MEMBERS_PAGE), MAX_MEMBERS_PAGE)
    .option('--offset <n>', 'rows to skip', (v) => wholeNumber(v, 0, Number.MAX_SAFE_INTEGER), 0)
    .addOption(jsonOption())
    .action(async (opts: { state?: 'active' | 'deactivated'; limit: number; offset: number; json?: boolean }) => {
      const { members } = await open();
      const result = await members.list({ state: opts.state, limit: opts.limit, offset: opts.offset });
      const next = (offset: number) => ['doorman user list', ...(opts.state ? [`--state ${opts.state}`] : []), ...(opts.limit !== MAX_MEMBERS_PAGE ? [`--limit ${opts.limit}`] : []), `--offset ${offset}`].join(' ');
      print(opts.json ? jsonText(result) : formatMembers(result, opts.offset, next));
    });
}
