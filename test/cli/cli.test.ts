import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedDomains } from '../../src/invites/policy.js';
import type { Invitation } from '../../src/invites/model.js';
import type { ListPage } from '../../src/invites/service.js';
import { InvitesService } from '../../src/invites/service.js';
import { MembersService } from '../../src/members/service.js';
import { systemClock } from '../../src/shared/clock.js';
import { createDb } from '../../src/db/index.js';
import { createTestDatabase, DIALECTS, PG_ADMIN_URL, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { shellWord } from '../../src/cli/format.js';
import { expectOneErrorLine } from '../support/cli-output.js';
import { TestSmtpServer } from '../support/smtp.js';
import { runCli, runCliHere, tempDataDir, type Env } from '../support/service.js';
import { startTestApp } from '../support/http.js';

const PUBLIC_URL = 'http://doorman.test';

describe.each(DIALECTS)('doorman CLI (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let env: Env;
  let invites: InvitesService;
  let members: MembersService;
  // In-process (the function the binary runs); what reads standard input runs as the real binary, reading its real stdin.
  const doorman = (args: string[], extra: Env = {}, input?: string) => (input === undefined ? runCliHere(args, { ...env, ...extra }) : runCli(args, { ...env, ...extra }, { input }));

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    env = { DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PUBLIC_URL, ORG_NAME: 'Acme Corp' };
    invites = new InvitesService(test.db, systemClock, { appSecret: TEST_SECRET, publicUrl: PUBLIC_URL, inviteTtlMs: 7 * 86_400_000 });
    members = new MembersService(test.db, systemClock);
  });

  afterAll(async () => {
    await test.destroy();
    data.cleanup();
  });

  const byEmail = async (email: string): Promise<Invitation> => {
    const page = await invites.list({ search: email, limit: 5 });
    const found = page.invitations.find((i) => i.email === email);
    if (!found) throw new Error(`no invitation for ${email}`);
    return found;
  };

  it('invite --from longer than a name may be: refused with the limit, nothing stored', async () => {
    const before = await test.db('invitations').count<{ n: number }[]>({ n: '*' });
    const refused = await doorman(['invite', '--from', 'x'.repeat(201), 'long-from@example.io']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--from');
    expect(refused.stderr).toContain('at most 200 characters');
    expect(await test.db('invitations').count<{ n: number }[]>({ n: '*' })).toEqual(before);
  });

  it('invite: a messy list, with one summary line per skipped or invalid entry, and --json', async () => {
    const first = await doorman(['invite', '--from', 'Ada Lovelace', 'Jane Doe <Jane@Example.io>, bob@example.io;', 'not-an-email', 'BOB@example.io\ncarol@example.io']);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('3 invitations sent.');
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^ {2}not-an-email: not sent, /)]);
    expect(first.stderr).toBe('');
    // A list that invited nobody because its entries were refused fails, so a script notices.
    const refused = await doorman(['invite', 'garbage', 'nobody@']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^0 invitations sent\.\n {2}garbage: not sent, /);
    expect(refused.stderr).toBe('doorman: Nobody was invited: the 2 entries were refused (see above).\n');

    const [again, fromStdin] = await Promise.all([
      doorman(['invite', '--json', 'jane@example.io', 'dave@example.io']),
      doorman(['invite', '--role', 'developer', '-'], {}, 'erin@example.io\n  frank@example.io , \n'),
    ]);
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout) as { sent: string[]; alreadyInvited: Array<{ email: string; invitationId: string }>; invalid: unknown[] };
    expect(summary.sent).toEqual(['dave@example.io']);
    expect(summary.alreadyInvited).toEqual([{ email: 'jane@example.io', invitationId: (await byEmail('jane@example.io')).id }]);
    expect(summary.invalid).toEqual([]);
    expect(fromStdin.stdout.trim()).toBe('2 invitations sent.');
    expect((await byEmail('frank@example.io')).role).toBe('developer');
    // A list that comes a moment late down the pipe (a slow program feeding it) is waited for; late
    // enough that the CLI, started, reads before it comes.
    const late = await runCli(['invite', '-'], env, { input: 'late@example.io\n', inputAfterMs: 4_000 });
    expect([late.code, late.stderr, late.stdout.trim()]).toEqual([0, '', '1 invitation sent.']);
    expect((await byEmail('jane@example.io')).invitedBy.name).toBe('Ada Lovelace');
  });

  it('stored text with control characters (a mail server\'s words) is printed escaped: it never acts on the terminal', async () => {
    await invites.inviteMany({ emails: 'esc@controls.io', actor: { type: 'system' } });
    const row = await byEmail('esc@controls.io');
    await test.db('invitations').where({ id: row.id }).update({ delivery_state: 'failing', delivery_error: '451 busy\u001b[2J\u009b31m' });
    const table = await doorman(['invites', '--search', 'controls.io']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('451 busy\\u001b[2J\\u009b31m');
    expect(table.stdout).not.toMatch(/[\u001b\u009b]/);
    // Line breaks of the output itself are kept.
    expect(table.stdout.trimEnd().split('\n').length).toBeGreaterThan(1);
  });

  it('invites: the table, --json, --sort, --status; link, resend, revoke on them', async () => {
    // Its own six, kept apart from other tests' by the search.
    await invites.inviteMany({ emails: ['jane', 'bob', 'carol', 'dave', 'erin', 'frank'].map((n) => `${n}@table.io`).join(', '), actor: { type: 'system' } });
    const jane = await byEmail('jane@table.io');
    const bob = await byEmail('bob@table.io');
    const [table, json, sorted, link, resend] = await Promise.all([
      doorman(['invites', '--search', 'table.io']),
      doorman(['invites', '--search', 'table.io', '--json', '--limit', '3']),
      doorman(['invites', '--search', 'table.io', '--sort', 'email', '--order', 'asc', '--json', '--status', 'pending']),
      doorman(['link', jane.id]),
      doorman(['resend', bob.id, '--json']),
    ]);

    expect(table.code, table.stderr).toBe(0);
    expect(json.stderr).toBe('');
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^ID\s+EMAIL\s+STATUS\s+ROLE\s+INVITED\s+EXPIRES\s+EMAIL DELIVERY$/);
    expect(rows.find((r) => r.includes('jane@table.io'))).toMatch(new RegExp(`^${jane.id}\\s+jane@table\\.io\\s+Pending\\s+member\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC .* queued$`));
    expect(rows.at(-1)).toBe('1–6 of 6');

    const page = JSON.parse(json.stdout) as ListPage;
    expect(page.total).toBe(6);
    expect(page.invitations).toHaveLength(3);
    expect(page.nextCursor).toEqual(expect.any(String));
    const second = await invites.list({ search: 'table.io', limit: 3, cursor: page.nextCursor! });
    expect(new Set([...page.invitations, ...second.invitations].map((i) => i.id)).size).toBe(6);

    const emails = (JSON.parse(sorted.stdout) as ListPage).invitations.map((i) => i.email);
    expect(emails).toEqual(['bob@table.io', 'carol@table.io', 'dave@table.io', 'erin@table.io', 'frank@table.io', 'jane@table.io']);

    // link prints a URL whose token works.
    expect(link.code, link.stderr).toBe(0);
    const url = link.stdout.trim();
    expect(url).toMatch(/^http:\/\/doorman\.test\/invite\?token=[A-Za-z0-9_-]{43,}$/);
    expect((await invites.lookupToken(new URL(url).searchParams.get('token'))).id).toBe(jane.id);
    // Run without the service's APP_SECRET, it refuses rather than print a link that opens nothing.
    const otherSecret = await doorman(['link', jane.id], { APP_SECRET: 'another-secret-of-at-least-32-characters!' });
    expect(otherSecret.code).toBe(1);
    expect(expectOneErrorLine(otherSecret)).toMatch(/^doorman: APP_SECRET is not the one this invitation's link was made with/);

    // resend: same invitation, sent again, expiry pushed out.
    expect(resend.code, resend.stderr).toBe(0);
    const resent = JSON.parse(resend.stdout) as Omit<Invitation, 'expiresAt'> & { expiresAt: string };
    expect(resent).toMatchObject({ id: bob.id, sendCount: 2, status: 'pending' });
    // Moments print as ISO 8601 in UTC (compared as such, they sort as time does).
    expect(resent.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(resent.expiresAt)).toBeGreaterThanOrEqual(bob.expiresAt);

    const revoke = await doorman(['revoke', jane.id]);
    expect(revoke.stdout.trim()).toBe('Revoked the invitation to jane@table.io.');
    await expect(invites.lookupToken(new URL(url).searchParams.get('token'))).rejects.toMatchObject({ code: 'invite_revoked' });
    expect((await invites.list({ status: 'revoked', search: 'table.io' })).invitations.map((i) => i.email)).toEqual(['jane@table.io']);
    // Again (a cleanup script run twice): it holds, exit 0, and nothing more is recorded.
    const again = await doorman(['revoke', jane.id]);
    expect([again.code, again.stdout.trim()]).toEqual([0, 'The invitation to jane@table.io was already revoked.']);
    expect(await test.db('audit_log').where({ subject_id: jane.id, action: 'revoke' }).count({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(1);
  });

  it('invites page by page: the command for the next page keeps the status, sort, order, search and limit', async () => {
    const { invitationIds } = await invites.inviteMany({ emails: 'pager-c@example.io, pager-a@example.io, pager-b@example.io', actor: { type: 'system' } });
    await invites.revoke(invitationIds[2]!, { type: 'system' });
    const first = await doorman(['invites', '--status', 'pending', '--sort', 'email', '--order', 'asc', '--search', 'pager', '--limit', '1']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('pager-a@example.io');
    const more = first.stdout.trimEnd().split('\n').at(-1)!;
    expect(more).toMatch(/^More: doorman invites --status pending --sort email --order asc --search pager --limit 1 --cursor \S+$/);
    // Run as printed: the revoked one stays out, the order goes on.
    const second = await doorman(more.replace(/^More: doorman /, '').split(' '));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('pager-c@example.io');
    expect(second.stdout).not.toContain('pager-b@example.io');
    expect(second.stdout.trimEnd().split('\n').at(-1)).toBe('2–2 of 2');
    // A search with spaces or quotes is printed as the shell reads it back.
    expect(shellWord('pager')).toBe('pager');
    expect(shellWord("o'neil smith")).toBe(`'o'\\''neil smith'`);
  });

  it('--status expired after INVITE_TTL=1s, then renew gives a new link', async () => {
    const short = { INVITE_TTL: '1s' };
    const invited = await doorman(['invite', 'gina@example.io'], short);
    expect(invited.stdout.trim()).toBe('1 invitation sent.');
    const before = await byEmail('gina@example.io');
    const oldLink = invites.linkFor(await test.db('invitations').where({ id: before.id }).first());
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const [expired, link, table] = await Promise.all([doorman(['invites', '--status', 'expired', '--json']), doorman(['link', before.id]), doorman(['invites', '--status', 'expired'])]);
    expect((JSON.parse(expired.stdout) as ListPage).invitations.map((i) => i.email)).toEqual(['gina@example.io']);
    // Nothing delivered its email (no service ran) before the link expired: the table says so.
    expect(table.stdout).toMatch(/gina@example\.io .* not sent before it expired$/m);
    expect(link.code).toBe(1);
    expectOneErrorLine(link);

    const renew = await doorman(['renew', before.id]);
    expect(renew.code, renew.stderr).toBe(0);
    expect(renew.stdout).toMatch(/^Sent a new invitation to gina@example\.io; it expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\.\n$/);
    const newLink = invites.linkFor(await test.db('invitations').where({ id: before.id }).first());
    expect(newLink).not.toBe(oldLink);
    await expect(invites.lookupToken(new URL(oldLink).searchParams.get('token'))).rejects.toMatchObject({ code: 'link_replaced' });
  });

  it('user create (API token shown once, --password-stdin) and user list', async () => {
    const [admin, member] = await Promise.all([
      doorman(['user', 'create', '--email', 'Root@Example.io', '--role', 'admin', '--first-name', 'Ro', '--api-token']),
      doorman(['user', 'create', '--email', 'mia@example.io', '--password-stdin'], {}, 'correct horse battery\n'),
    ]);
    expect(admin.code, admin.stderr).toBe(0);
    expect(admin.stdout).toMatch(/^Created admin root@example\.io \(usr_\w+\)\.\n/);
    const token = /API token \(shown once; send it as x-medusa-access-token\): (\S+)/.exec(admin.stdout)?.[1];
    expect(token).toBeDefined();
    expect(admin.stdout.split(token!).length).toBe(2); // printed once
    expect((await members.findByApiToken(token!))?.email).toBe('root@example.io');
    const stored = await test.db('members').where({ email: 'root@example.io' }).first();
    expect(JSON.stringify(stored)).not.toContain(token);

    expect(member.code, member.stderr).toBe(0);
    expect((await members.verifyCredentials('mia@example.io', 'correct horse battery')).email).toBe('mia@example.io');

    await invites.inviteMany({ emails: 'waiting@users.io', actor: { type: 'system' } });
    const [list, skip] = await Promise.all([doorman(['user', 'list']), doorman(['invite', 'mia@example.io', 'waiting@users.io'])]);
    expect(list.stdout).toMatch(/^ID\s+EMAIL\s+NAME\s+ROLE\s+STATE\n/);
    expect(list.stdout).toMatch(/root@example\.io\s+Ro\s+admin\s+active/);
    expect(list.stdout).not.toContain(token);
    expect(list.stdout).toMatch(/mia@example\.io\s+member\s+active/);
    expect(list.stdout.trimEnd().split('\n').at(-1)).toBe('1–2 of 2');
    // Page by page: where the page ends, the total, and how to go on.
    const [first, second] = await Promise.all([doorman(['user', 'list', '--limit', '1']), doorman(['user', 'list', '--limit', '1', '--offset', '1'])]);
    expect(first.stdout.trimEnd().split('\n').slice(-2)).toEqual(['1–1 of 2', 'More: doorman user list --limit 1 --offset 1']);
    expect(first.stdout).toContain('mia@example.io');
    expect(second.stdout.trimEnd().split('\n').at(-1)).toBe('2–2 of 2');
    expect(second.stdout).toContain('root@example.io');

    // A member is skipped; an address with a live invitation too, with the way to resend it.
    expect(skip.stdout.split('\n')).toEqual([
      '0 invitations sent.',
      '  mia@example.io: skipped, already a member',
      `  waiting@users.io: skipped, already invited (doorman resend ${(await byEmail('waiting@users.io')).id})`,
      '',
    ]);

    // Made a member directly, an address's open invitation is revoked: its link could only fail.
    const waiting = await byEmail('waiting@users.io');
    const joined = await doorman(['user', 'create', '--email', 'Waiting@Users.io']);
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.stdout.split('\n')).toEqual([
      expect.stringMatching(/^Created member waiting@users\.io \(usr_\w+\)\.$/),
      `Revoked their open invitation (${waiting.id}): they are a member now, so its link could only fail.`,
      '',
    ]);
    expect((await invites.get(waiting.id)).status).toBe('revoked');
    const none = await doorman(['user', 'create', '--email', 'alone@users.io', '--json']);
    expect(JSON.parse(none.stdout)).toMatchObject({ email: 'alone@users.io', revokedInvitations: [] });
    // One awaiting approval is left to the approvers, and the operator is told.
    const allowed = parseAllowedDomains('example.io');
    if ('problem' in allowed) throw new Error(allowed.problem);
    const policed = new InvitesService(test.db, systemClock, { appSecret: TEST_SECRET, publicUrl: PUBLIC_URL, inviteTtlMs: 7 * 86_400_000, policy: { allowedDomains: allowed.patterns, dailyLimit: 10, unlimitedSlackUserIds: [] } });
    const [held] = (await policed.inviteMany({ emails: 'held@users.io', actor: { type: 'slack', slackUserId: 'U0ASKER' } })).awaitingApproval!;
    const heldJoined = await doorman(['user', 'create', '--email', 'held@users.io']);
    expect(heldJoined.stdout).toContain(`Their invitation ${held!.invitationId} still awaits approval; an approval now answers "already a member" (deny it: doorman deny ${held!.invitationId}).`);
    expect((await invites.get(held!.invitationId)).status).toBe('awaiting_approval');
  });

  it('migrate, and deliver writes each queued email as an .eml file: one per invitation (a resend while it waits only hurries it), none for a revoked invitation or a replaced link', async () => {
    const system = { type: 'system' as const };
    const { invitationIds: [, resent, revoked, renewed] } = await invites.inviteMany({ emails: 'kept@deliver.io, resent@deliver.io, revoked@deliver.io, renewed@deliver.io', actor: system });
    await invites.resend(resent!, system);
    await invites.revoke(revoked!, system);
    // A new link replaces the first: only the newest email goes out.
    await test.db('invitations').where({ id: renewed }).update({ expires_at: Date.now() - 1 });
    await invites.renew(renewed!, system);

    const [migrate, deliver] = await Promise.all([doorman(['migrate']), doorman(['deliver'])]);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout.trim()).toBe('The database is up to date.');

    expect(deliver.code, deliver.stderr).toBe(0);
    const settled = Number(/^Delivered (\d+) queued item\(s\) through the local outbox/.exec(deliver.stdout)?.[1]);
    const dir = path.join(data.dir, 'outbox');
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    const emails = files.map((f) => {
      const raw = readFileSync(path.join(dir, f), 'utf8');
      return { to: /^To: (\S+)$/m.exec(raw)?.[1], link: /^X-Doorman-Accept-Link: (\S+)$/m.exec(raw)?.[1] };
    });
    const ours = emails.filter((e) => e.to?.endsWith('@deliver.io'));
    expect(ours.map((e) => e.to).sort()).toEqual(['kept@deliver.io', 'renewed@deliver.io', 'resent@deliver.io']);
    expect(settled).toBeGreaterThanOrEqual(files.length);
    for (const email of ours) expect((await invites.lookupToken(new URL(email.link!).searchParams.get('token'))).email).toBe(email.to);
    expect(Number((await test.db('outbox').where({ state: 'pending' }).count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('deliver with the SMTP server down: exit 1 naming the failure, the email stays queued for its retry; then it goes out', async () => {
    // What other tests queued goes out through the local outbox first, so the counts below are this test's.
    expect((await doorman(['deliver'])).code).toBe(0);
    expect((await doorman(['invite', 'smtp-down@example.io'])).code).toBe(0);
    const smtp = await TestSmtpServer.create({ up: false });
    const queued = () => test.db('outbox').where({ state: 'pending' });
    try {
      const down = await doorman(['deliver'], { SMTP_URL: smtp.url });
      expect(down.code).toBe(1);
      expect(down.stdout).toMatch(/^Delivered 0 queued item\(s\) through SMTP\./);
      expect(down.stderr.trim().split('\n').at(-1)).toMatch(/^doorman: 1 delivery attempt\(s\) failed \(.*ECONNREFUSED.*\); 1 item\(s\) stay queued for the service or the next "doorman deliver"\.$/);
      const [item] = (await queued().select('next_attempt_at', 'failures')) as Array<{ next_attempt_at: number; failures: number }>;
      expect(Number(item!.failures)).toBe(1);
      expect(Number(item!.next_attempt_at)).toBeGreaterThan(Date.now());

      await smtp.start();
      // Its retry time not come yet: nothing is sent, and the run says what waits.
      await queued().update({ next_attempt_at: Date.now() + 3_600_000 });
      const waiting = await doorman(['deliver'], { SMTP_URL: smtp.url });
      expect(waiting.code, waiting.stderr).toBe(0);
      expect(waiting.stdout).toContain('1 item(s) stay queued');
      expect(smtp.received).toHaveLength(0);

      await queued().update({ next_attempt_at: Date.now() });
      const sent = await doorman(['deliver'], { SMTP_URL: smtp.url });
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stdout.trim()).toBe('Delivered 1 queued item(s) through SMTP.');
      expect(smtp.received.map((m) => m.envelope.to)).toEqual([['smtp-down@example.io']]);
      expect(await queued()).toEqual([]);
    } finally {
      await smtp.stop();
    }
  });

  it('deliver when the mail server refuses every email for good: says how many were refused and where to see it, exit 0 (a refusal is no failed attempt)', async () => {
    // What other tests queued goes out through the local outbox first, so the counts below are this test's.
    expect((await doorman(['deliver'])).code).toBe(0);
    expect((await doorman(['invite', 'gone-1@example.io', 'gone-2@example.io'])).code).toBe(0);
    const smtp = await TestSmtpServer.create();
    try {
      smtp.fail({ kind: 'reply', at: 'rcpt', code: 550, message: '5.1.1 Recipient address rejected: User unknown', times: 2 });
      const run = await doorman(['deliver'], { SMTP_URL: smtp.url });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe('Delivered 0 queued item(s) through SMTP. Refused for good by the mail server: 2 email(s); their invitations show the refusal ("doorman invites").');
      expect(smtp.received).toHaveLength(0);
      for (const email of ['gone-1@example.io', 'gone-2@example.io']) expect((await byEmail(email)).delivery).toMatchObject({ state: 'refused', error: expect.stringContaining('User unknown') });
      expect(await test.db('outbox').where({ state: 'pending' })).toEqual([]);
    } finally {
      await smtp.stop();
    }
  });

  it('invite --file: a CSV with roles per row, stored in batches with progress on stderr; not a list → one line, exit 1', async () => {
    const file = path.join(data.dir, 'people.csv');
    const rows = Array.from({ length: 2_500 }, (_, i) => `file${i}@example.io,Ann,Row ${i},${i === 7 ? 'Developer' : i === 8 ? 'chief' : ''}`);
    writeFileSync(file, ['email,first_name,last_name,role', ...rows].join('\n'));
    const result = await doorman(['invite', '--file', file, '--role', 'admin', '--expires', '14d']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('2499 invitations sent.');
    expect(result.stdout).toMatch(/file8@example\.io: not sent, unknown role "chief"/);
    expect(result.stderr.trim().split('\n')).toEqual(['stored 1,000 of 2,499 rows', 'stored 2,000 of 2,499 rows', 'stored 2,499 of 2,499 rows']);
    expect((await byEmail('file7@example.io')).role).toBe('developer');
    const other = await byEmail('file9@example.io');
    expect(other.role).toBe('admin');
    expect(other.expiresAt - other.createdAt).toBe(14 * 86_400_000);

    // Run again: everyone is already invited, and a repeat naming another role is a note, not a refusal.
    const twice = path.join(data.dir, 'twice.csv');
    writeFileSync(twice, 'email,role\ntwice@example.io,admin\nTWICE@example.io,member\n');
    expect((await doorman(['invite', '--file', twice])).code).toBe(0);
    const again = await doorman(['invite', '--file', twice]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('doorman:');
    expect(again.stdout).toMatch(/twice@example\.io: not sent, listed again with the role member/);

    const notAList = path.join(data.dir, 'table.csv');
    writeFileSync(notAList, 'a@example.io,Ann,Lee\nb@example.io,Bo,Lee\n');
    const refused = await doorman(['invite', '--file', notAList]);
    expect(refused.code).toBe(1);
    expect(expectOneErrorLine(refused)).toMatch(/^doorman: table\.csv is not a list Doorman can read: it has several columns but no header row/);
    const missing = await doorman(['invite', '--file', path.join(data.dir, 'nope.csv')]);
    expect(missing.code).toBe(1);
    expect(expectOneErrorLine(missing)).toBe(`doorman: Cannot read ${path.join(data.dir, 'nope.csv')}: no such file.`);
    // A file far too large to be a list is refused by its size, before it is read (one of 3 GB,
    // sparse here, could not even be read into memory).
    const huge = path.join(data.dir, 'disk.img');
    writeFileSync(huge, '');
    truncateSync(huge, 3 * 1024 ** 3);
    expect(expectOneErrorLine(await doorman(['invite', '--file', huge]))).toMatch(/^doorman: disk\.img is not a list Doorman can read: it is larger than 5 MB/);
    // A relative path is read from where npm run was typed (INIT_CWD), not the package's folder.
    const relative = await doorman(['invite', '--file', 'nope.csv'], { INIT_CWD: data.dir, npm_lifecycle_event: 'doorman' });
    expect(expectOneErrorLine(relative)).toBe(`doorman: Cannot read ${path.join(data.dir, 'nope.csv')}: no such file.`);
    // Another script npm ran (the installed doorman in a project's own script): from the process's folder.
    const fromScript = await doorman(['invite', '--file', 'nope.csv'], { INIT_CWD: data.dir, npm_lifecycle_event: 'team' });
    expect(expectOneErrorLine(fromScript)).toBe(`doorman: Cannot read ${path.join(process.cwd(), 'nope.csv')}: no such file.`);
  });

  it('user role, deactivate and token: what the Slack members list does, without Slack; each audited, refusals change nothing', async () => {
    await doorman(['user', 'create', '--email', 'ops@example.io', '--role', 'admin']);
    await doorman(['user', 'create', '--email', 'dev@example.io', '--role', 'member']);
    const dev = async () => (await members.findByEmail('dev@example.io'))!;

    const role = await doorman(['user', 'role', 'DEV@example.io', 'developer']);
    expect(role.stdout.trim()).toBe('dev@example.io is now developer.');
    expect((await dev()).role).toBe('developer');
    const badRole = await doorman(['user', 'role', 'dev@example.io', 'owner']);
    expect(badRole.code).toBe(2);
    expect((await dev()).role).toBe('developer');

    const first = /: (\S+)$/.exec((await doorman(['user', 'token', 'dev@example.io'])).stdout.trim())![1]!;
    expect((await members.findByApiToken(first))?.email).toBe('dev@example.io');
    const second = JSON.parse((await doorman(['user', 'token', 'dev@example.io', '--json'])).stdout) as { apiToken: string };
    expect(await members.findByApiToken(first)).toBeUndefined();
    expect((await members.findByApiToken(second.apiToken))?.email).toBe('dev@example.io');
    expect((await doorman(['user', 'token', 'dev@example.io', '--revoke'])).stdout.trim()).toBe("dev@example.io's API token no longer works.");
    expect(await members.findByApiToken(second.apiToken)).toBeUndefined();
    expect((await doorman(['user', 'token', 'dev@example.io', '--revoke'])).stdout.trim()).toBe('dev@example.io had no API token.');

    expect((await doorman(['user', 'deactivate', 'dev@example.io'])).stdout.trim()).toBe('dev@example.io is deactivated.');
    expect((await dev()).state).toBe('deactivated');
    const refused = await doorman(['user', 'token', 'dev@example.io']);
    expect(refused.code).toBe(1);
    expectOneErrorLine(refused);
    const nobody = await doorman(['user', 'deactivate', 'nobody@example.io']);
    expect(nobody.code).toBe(1);
    expectOneErrorLine(nobody);

    const id = (await dev()).id;
    const audit = await test.db('audit_log').where({ subject_id: id }).orderBy('id').pluck('action');
    expect(audit).toEqual(['member_create', 'role_change', 'api_token_issue', 'api_token_issue', 'api_token_revoke', 'deactivate']);
  });

  it('on a terminal, what cannot be undone is asked first (no changes nothing); --yes and scripts are not asked', async () => {
    await invites.inviteMany({ emails: 'ask@confirm.io', actor: { type: 'system' } });
    const row = await byEmail('ask@confirm.io');
    const asked = (answer: string, args: string[]) => runCliHere(args, env, { answers: [answer] });
    const no = await asked('n', ['revoke', row.id]);
    expect([no.code, no.stderr]).toEqual([1, 'Revoke the invitation to ask@confirm.io? Its link stops working at once. [y/N] doorman: Nothing was changed.\n']);
    expect((await byEmail('ask@confirm.io')).status).toBe('pending');
    // Enter alone is no.
    expect((await asked('', ['revoke', row.id])).code).toBe(1);
    expect((await byEmail('ask@confirm.io')).status).toBe('pending');
    const yes = await asked('y', ['revoke', row.id]);
    expect([yes.code, yes.stdout.trim()]).toEqual([0, 'Revoked the invitation to ask@confirm.io.']);
    // Sent again by a colleague while the question waited for its answer: that sending is not revoked unasked.
    await invites.inviteMany({ emails: 'meanwhile@confirm.io', actor: { type: 'system' } });
    const meanwhile = await byEmail('meanwhile@confirm.io');
    const colleague = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await invites.resend(meanwhile.id, { type: 'system' });
      return 'y';
    };
    const raced = await runCliHere(['revoke', meanwhile.id], env, { answers: [colleague] });
    expect(raced.code).toBe(1);
    expect(raced.stderr).toContain('doorman: The invitation to meanwhile@confirm.io was sent again since it was shown, so nothing was revoked');
    expect((await byEmail('meanwhile@confirm.io')).status).toBe('pending');
    // Asked nothing: with --yes, or run by a script (no terminal).
    await members.create({ email: 'asked@confirm.io', role: 'member', firstName: 'A', lastName: 'Sk', withApiToken: true }, { type: 'system' });
    const flagged = await runCliHere(['user', 'token', 'asked@confirm.io', '--revoke', '--yes'], env, { answers: [] });
    expect([flagged.code, flagged.stderr]).toEqual([0, '']);
    const refused = await asked('no', ['user', 'deactivate', 'asked@confirm.io']);
    expect(refused.stderr).toBe('Deactivate asked@confirm.io? Their sign-in, sessions and API token end at once. [y/N] doorman: Nothing was changed.\n');
    expect((await members.getByEmail('asked@confirm.io')).state).toBe('active');
    const scripted = await doorman(['user', 'deactivate', 'asked@confirm.io']);
    expect([scripted.code, scripted.stderr, scripted.stdout.trim()]).toEqual([0, '', 'asked@confirm.io is deactivated.']);
  });

  it('an unknown id → exit 1 with one "doorman:" line', async () => {
    const unknown = await doorman(['revoke', 'invite_01NOPE']);
    expect(unknown.code).toBe(1);
    expect(expectOneErrorLine(unknown)).toBe('doorman: No invitation with id invite_01NOPE.');
    expect(unknown.stdout).toBe('');
    // Members are named by their address here, and the error says so.
    const nobody = await doorman(['user', 'role', 'nobody@example.io', 'admin']);
    expect(nobody.code).toBe(1);
    expect(expectOneErrorLine(nobody)).toBe('doorman: No member with email nobody@example.io.');
  });
});

describe('doorman CLI errors before the database', () => {
  // Two tests, not one: each starts several CLI processes, and a loaded machine takes its time.
  it('bad option → exit 2, in one line naming what was typed', async () => {
    const data = tempDataDir();
    const env = { DATA_DIR: data.dir, APP_SECRET: TEST_SECRET };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    const [badStatus, badOption, nearOption, bigPage, noPage, badExpiry] = await Promise.all([
      runCli(['invites', '--status', 'sometimes'], env),
      runCli(['invite', '--frobnicate', 'x@example.io'], env),
      runCli(['invites', '--jsn'], env),
      runCli(['invites', '--limit', '501'], env),
      runCli(['user', 'list', '--limit', '0'], env),
      runCli(['invite', '--expires', 'abc', 'x@example.io'], env),
    ]);
    data.cleanup();
    // A page larger than the listing gives is refused, not cut short without a word.
    expect(bigPage.code).toBe(2);
    expect(bigPage.stderr).toContain('--limit');
    expect(bigPage.stderr).toContain('from 1 to 500');
    expect(noPage.code).toBe(2);
    expect(noPage.stderr).toContain('from 1 to 1000');
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toMatch(/sometimes/);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/--frobnicate/);
    // Commander's own usage errors read like every other error: one line starting with doorman:.
    // Commander's suggestion for a near miss stays on the line.
    expect(expectOneErrorLine(nearOption)).toBe("doorman: unknown option '--jsn' (Did you mean --json?) (run with --help for usage)");
    for (const usage of [badStatus, badOption, nearOption, bigPage, noPage]) expect(expectOneErrorLine(usage)).toMatch(/^doorman: [^\\]+[^\\ ] \(run with --help for usage\)$/);
    // What was typed is echoed, not what it became.
    expect(badExpiry.code).toBe(2);
    expect(expectOneErrorLine(badExpiry)).toBe('doorman: An invitation can expire in 1, 3, 7, 14, 30 days, not "abc".');
  });

  it('bad environment → exit 1 with one line naming the variable; LOG_LEVEL empty or padded is fine', async () => {
    const data = tempDataDir();
    const env = { DATA_DIR: data.dir, APP_SECRET: TEST_SECRET };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    const [badEnv, emptyLevel, paddedLevel, unwritable] = await Promise.all([
      runCli(['invites'], { ...env, INVITE_TTL: '7x' }),
      // LOG_LEVEL as the service takes it: empty (as env files leave it) or padded is fine.
      runCli(['invites'], { ...env, LOG_LEVEL: '' }),
      runCli(['invites'], { ...env, LOG_LEVEL: 'warn ' }),
      // A database file the process cannot create names the setting that put it there.
      runCli(['migrate'], { APP_SECRET: TEST_SECRET, DATABASE_URL: 'sqlite:///sys/doorman-test/doorman.sqlite3' }),
    ]);
    data.cleanup();
    expect(badEnv.code).toBe(1);
    expect(expectOneErrorLine(badEnv)).toMatch(/^doorman: INVITE_TTL: "7x" /);
    expect(unwritable.code).toBe(1);
    expect(expectOneErrorLine(unwritable)).toMatch(/^doorman: DATABASE_URL: cannot create or open the database file \/sys\/doorman-test\/doorman\.sqlite3 \(E[A-Z]+\)$/);
    expect([emptyLevel.code, emptyLevel.stderr]).toEqual([0, '']);
    expect([paddedLevel.code, paddedLevel.stderr]).toEqual([0, '']);
  });

  it('options that do not go together, or one missing, are usage mistakes too: exit 2 with one line', async () => {
    const data = tempDataDir();
    const env = { DATA_DIR: data.dir, APP_SECRET: TEST_SECRET };
    const [noAddresses, notAnExpiry, noHost, badHost, hostAndSocket, noDay, both, noId, idAndUnlink, twoPasswords, twoFiles, twoRoles, dots, bigPort, stdinAndMore] = await Promise.all([
      runCliHere(['invite'], env),
      runCliHere(['invite', '--expires', '5', 'x@example.io'], env),
      runCliHere(['manifest'], env),
      runCliHere(['manifest', '--host', 'bad host'], env),
      runCliHere(['manifest', '--host', 'doorman.example.com', '--socket'], env),
      // Date.parse would read February 30th as March 2nd.
      runCliHere(['report', '--at', '2026-02-30T09:00Z'], env),
      runCliHere(['invite', 'x@example.io', '--file', 'list.csv'], env),
      runCliHere(['user', 'link-slack', 'someone@example.io'], env),
      runCliHere(['user', 'link-slack', 'someone@example.io', 'U024BE7LH', '--unlink'], env),
      runCliHere(['user', 'create', '--email', 'someone@example.io', '--password', 'a-long-password', '--password-stdin'], env),
      // Commander would keep the last alone: the first file, or role, dropped without a word.
      runCliHere(['invite', '--file', 'a.csv', '--file=b.csv'], env),
      runCliHere(['invite', 'x@example.io', '--role', 'admin', '--role', 'member'], env),
      runCliHere(['manifest', '--host', '..'], env),
      runCliHere(['manifest', '--host', 'doorman.example.com:99999'], env),
      // `-` beside addresses would be read as one of them, and standard input never read.
      runCliHere(['invite', '-', 'extra@example.io'], env),
    ]);
    data.cleanup();
    const cases = [
      [noAddresses, /give the addresses to invite, - to read them from standard input, or --file PATH/],
      [notAnExpiry, /An invitation can expire in 1, 3, 7, 14, 30 days, not 5\./],
      [noHost, /--host HOST .* or --socket/],
      [badHost, /is not a host name/],
      [hostAndSocket, /--host HOST .* or --socket, not both/],
      [noDay, /'--at <time>' argument '2026-02-30T09:00Z' is invalid/],
      [both, /addresses or --file, not both/],
      [noId, /a Slack user id .* or --unlink/],
      [idAndUnlink, /a Slack user id or --unlink, not both/],
      [twoPasswords, /--password or --password-stdin, not both/],
      [twoFiles, /--file was given twice; give it once/],
      [twoRoles, /--role was given twice; give it once/],
      [dots, /"\.\." is not a host name/],
      [bigPort, /is not a host name/],
      [stdinAndMore, /give - alone to read the addresses from standard input/],
    ] as const;
    for (const [answer, says] of cases) {
      expect(answer.code, answer.stderr).toBe(2);
      expect(expectOneErrorLine(answer)).toMatch(says);
    }
  });
});

describe('doorman CLI and a database it cannot use', () => {
  it('exit 1 with one line naming DATABASE_URL, from the real process too (knex prints nothing of its own)', async () => {
    const data = tempDataDir();
    const env = { DATA_DIR: data.dir, APP_SECRET: TEST_SECRET };
    const nobodyListens = 'postgres://postgres@127.0.0.1:1/doorman';
    writeFileSync(path.join(data.dir, 'not-a-database.sqlite3'), 'these are not the pages of an SQLite file, just text long enough to be read as its header '.repeat(20));
    const [unreachable, migrating, directory, noSuchDatabase, notSqlite, noSuchRole] = await Promise.all([
      runCli(['invites'], { ...env, DATABASE_URL: nobodyListens }),
      runCliHere(['migrate'], { ...env, DATABASE_URL: nobodyListens }),
      runCliHere(['invites'], { ...env, DATABASE_URL: `sqlite://${data.dir}` }),
      runCliHere(['invites'], { ...env, DATABASE_URL: Object.assign(new URL(PG_ADMIN_URL), { pathname: '/doorman_no_such_database' }).toString() }),
      runCliHere(['invites'], { ...env, DATABASE_URL: `sqlite://${data.dir}/not-a-database.sqlite3` }),
      runCliHere(['invites'], { ...env, DATABASE_URL: Object.assign(new URL(PG_ADMIN_URL), { username: 'doorman_no_such_role' }).toString() }),
    ]);
    data.cleanup();
    for (const answer of [unreachable, migrating]) {
      expect(answer.code, answer.stderr).toBe(1);
      expect(expectOneErrorLine(answer)).toMatch(/^doorman: DATABASE_URL: cannot use the database: connect ECONNREFUSED/);
    }
    expect(expectOneErrorLine(noSuchDatabase, 1)).toMatch(/^doorman: DATABASE_URL: cannot use the database: database "doorman_no_such_database" does not exist/);
    expect(expectOneErrorLine(notSqlite, 1)).toMatch(/^doorman: DATABASE_URL: cannot use the database: SQLITE_NOTADB/);
    expect(expectOneErrorLine(noSuchRole, 1)).toMatch(/^doorman: DATABASE_URL: cannot use the database: .*doorman_no_such_role/);
    expect(directory.code).toBe(1);
    expect(expectOneErrorLine(directory)).toBe(`doorman: DATABASE_URL: ${data.dir} is a directory; name the database file, e.g. sqlite://${data.dir}/doorman.sqlite3`);
  });
});

describe('doorman CLI and the schema: only migrate (and npm start) create or change it', () => {
  it('a command on a database that is not there yet, is behind, or is newer, refuses with one line and changes nothing', async () => {
    const data = tempDataDir();
    const file = path.join(data.dir, 'doorman.sqlite3');
    const env = { DATA_DIR: data.dir, APP_SECRET: TEST_SECRET };
    try {
      // A mistyped DATABASE_URL, or a run from another directory: no empty database is made to answer from.
      const missing = await runCli(['invites'], env);
      expect(missing.code).toBe(1);
      // DATA_DIR named it (DATABASE_URL is not set): the variable to look at is that one.
      expect(expectOneErrorLine(missing)).toBe(`doorman: DATA_DIR: there is no database at ${file}; start the service once (npm start) or run "doorman migrate" to create it`);
      expect(existsSync(file)).toBe(false);
      // Without APP_SECRET either (a run from the wrong directory), no generated secret is left behind.
      const nowhere = path.join(data.dir, 'elsewhere');
      const lost = await runCli(['invites'], { DATA_DIR: nowhere });
      expect(expectOneErrorLine(lost)).toMatch(/^doorman: DATA_DIR: there is no database at /);
      expect(existsSync(nowhere)).toBe(false);
      // Nor with PostgreSQL, whose database cannot be looked for first: the secret is not generated.
      const pgNowhere = path.join(data.dir, 'pg-elsewhere');
      const noSecret = await runCli(['invites'], { DATA_DIR: pgNowhere, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/doorman' });
      expect(expectOneErrorLine(noSecret)).toMatch(/^doorman: APP_SECRET: is not set, and there is no generated one in .*pg-elsewhere\/app-secret; run this with the service's environment/);
      expect(existsSync(pgNowhere)).toBe(false);
      // A database that is there but not Doorman's (empty here): said so, and nothing is created in it.
      const empty = path.join(data.dir, 'empty.sqlite3');
      const other = createDb({ client: 'sqlite', filename: empty });
      try {
        await other.raw('create table notes (id integer)');
        const foreign = await runCli(['invites'], { ...env, DATABASE_URL: `sqlite://${empty}` });
        expect(foreign.code).toBe(1);
        expect(expectOneErrorLine(foreign)).toMatch(/^doorman: DATABASE_URL: this database holds no Doorman schema/);
        expect((await other.raw("select name from sqlite_master where type = 'table' order by name")).map((r: { name: string }) => r.name)).toEqual(['notes']);
      } finally {
        await other.destroy();
      }
      expect((await runCli(['migrate'], env)).code).toBe(0);
      expect((await runCli(['invites'], env)).code).toBe(0);
      // No email was written, so no local outbox was made.
      expect(existsSync(path.join(data.dir, 'outbox'))).toBe(false);

      // Behind (this Doorman is newer than what migrated it): refused, and left as it was.
      const db = createDb({ client: 'sqlite', filename: file });
      try {
        const last = (await db('knex_migrations').orderBy('id', 'desc').first()) as { id: number; name: string };
        await db('knex_migrations').where({ id: last.id }).delete();
        const behind = await runCli(['invites'], env);
        expect(behind.code).toBe(1);
        expect(expectOneErrorLine(behind)).toBe(`doorman: the database is 1 migration(s) behind this Doorman (${last.name}); run "doorman migrate" (npm start does it too) once no older instance is running`);
        expect(await db('knex_migrations').where({ name: last.name }).first()).toBeUndefined();
        await db('knex_migrations').insert({ name: last.name, batch: 1, migration_time: new Date() });

        // Newer (migrated by a later Doorman): said in Doorman's words, for migrate too.
        await db('knex_migrations').insert({ name: '20990101_0099_future', batch: 2, migration_time: new Date() });
        for (const command of [['invites'], ['migrate']]) {
          const newer = await runCli(command, env);
          expect(newer.code).toBe(1);
          expect(expectOneErrorLine(newer)).toBe('doorman: the database was migrated by a newer Doorman (20990101_0099_future); run that version, or one at least as new');
        }
      } finally {
        await db.destroy();
      }
    } finally {
      data.cleanup();
    }
  });
});

describe('doorman CLI help', () => {
  const commands = [[], ['invite'], ['invites'], ['resend'], ['renew'], ['revoke'], ['link'], ['user'], ['user', 'create'], ['user', 'list'], ['user', 'role'], ['user', 'deactivate'], ['user', 'token'], ['migrate'], ['deliver']];

  it('--help on every command exits 0 and describes it', async () => {
    for (const command of commands) {
      const { code, stdout: out, stderr: err } = await runCliHere([...command, '--help'], {});
      expect(code, `${command.join(' ')} --help: ${err}`).toBe(0);
      expect(out).toContain(`Usage: doorman${command.length ? ' ' + command.join(' ') : ''}`);
      expect(err).toBe('');
    }
  });

  it('the real process exits 0 on --help too', async () => {
    const result = await runCli(['invite', '--help'], { DATABASE_URL: 'mysql://nowhere' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: doorman invite/);
    expect(result.stdout).toContain('--json');
  });
});

describe('doorman CLI and the service\'s APP_SECRET', () => {
  it('a command run with another secret than the running service\'s is refused: its links would open nothing', async () => {
    const app = await startTestApp('sqlite');
    const data = tempDataDir();
    try {
      const env = { DATABASE_URL: app.database.url, DATA_DIR: data.dir, PUBLIC_URL: 'http://doorman.test' };
      const other = await runCliHere(['invite', 'wrong-secret@example.io'], { ...env, APP_SECRET: 'another-secret-of-at-least-32-characters!' });
      expect(other.code).toBe(1);
      expect(expectOneErrorLine(other)).toMatch(/^doorman: APP_SECRET: is not the one the service runs with, so links made here would open nothing/);
      expect(await app.services.db('invitations').where({ email: 'wrong-secret@example.io' }).first()).toBeUndefined();
      const same = await runCliHere(['invite', 'right-secret@example.io'], { ...env, APP_SECRET: TEST_SECRET });
      expect(same.code, same.stderr).toBe(0);
    } finally {
      data.cleanup();
      await app.close();
    }
  });

  it('link and deliver made otherwise than the service makes them are refused: another PUBLIC_URL, or no SMTP_URL where the service has one', async () => {
    const app = await startTestApp('sqlite', { runWorker: false });
    const data = tempDataDir();
    try {
      const env = { DATABASE_URL: app.database.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PUBLIC_URL: app.url };
      const id = (await app.services.invites.inviteMany({ emails: 'queued@example.io', actor: { type: 'system' } })).invitationIds[0]!;
      const elsewhere = await runCliHere(['link', id], { ...env, PUBLIC_URL: 'http://localhost:3000' });
      expect(elsewhere.code).toBe(1);
      expect(expectOneErrorLine(elsewhere)).toBe(`doorman: PUBLIC_URL: is http://localhost:3000 here but ${app.url} for the service, so links made here would point elsewhere; run the CLI with the service's environment`);
      const noSmtp = await runCliHere(['deliver'], env);
      expect(noSmtp.code).toBe(1);
      expect(expectOneErrorLine(noSmtp)).toMatch(/^doorman: SMTP_URL: is not set here, but the service sends mail through SMTP: emails delivered here would be written to files/);
      // Nothing was delivered: the email still waits for the service.
      expect((await app.services.invites.get(id)).delivery.state).toBe('queued');
      const outbox = path.join(data.dir, 'outbox');
      expect(existsSync(outbox) ? readdirSync(outbox) : []).toEqual([]);
      // With the service's settings both work.
      expect((await runCliHere(['link', id], env)).stdout).toMatch(new RegExp(`^${app.url}/invite\\?token=`));
      const delivered = await runCliHere(['deliver'], { ...env, SMTP_URL: app.smtp.url });
      expect(delivered.code, delivered.stderr).toBe(0);
      expect((await app.services.invites.get(id)).delivery.state).toBe('sent');
    } finally {
      data.cleanup();
      await app.close();
    }
  });
});
