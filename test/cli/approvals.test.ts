import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvitesService } from '../../src/invites/service.js';
import { parseAllowedDomains } from '../../src/invites/policy.js';
import { MembersService } from '../../src/members/service.js';
import { systemClock } from '../../src/shared/clock.js';
import { createTestDatabase, DIALECTS, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { runCliHere, tempDataDir, type Env } from '../support/service.js';

const allowed = parseAllowedDomains('acme.com');
if ('problem' in allowed) throw new Error(allowed.problem);

describe.each(DIALECTS)('doorman approvals, approve, deny (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let env: Env;
  let invites: InvitesService;
  let held: { out: string; boss: string; other: string };
  const doorman = (args: string[]) => runCliHere(args, env);

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    env = { DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PUBLIC_URL: 'http://doorman.test', INVITE_ALLOWED_DOMAINS: 'acme.com' };
    const members = new MembersService(test.db, systemClock);
    const { member: ana } = await members.create({ email: 'ana@acme.com', role: 'admin', firstName: 'Ana' }, { type: 'system' });
    await members.create({ email: 'ben@acme.com', role: 'admin', firstName: 'Ben' }, { type: 'system' });
    await members.create({ email: 'dev@acme.com', role: 'developer' }, { type: 'system' });
    const { member: gone } = await members.create({ email: 'gone@acme.com', role: 'admin' }, { type: 'system' });
    await members.deactivate(gone.id, { type: 'system' });
    invites = new InvitesService(test.db, systemClock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * 86_400_000, policy: { allowedDomains: allowed.patterns, dailyLimit: 10, unlimitedSlackUserIds: [] } });
    const summary = await invites.inviteMany({ emails: 'out@other.io, other@other.io', actor: { type: 'member', memberId: ana.id, name: 'Ana' } });
    const admin = await invites.inviteMany({ emails: 'boss@acme.com', role: 'admin', actor: { type: 'member', memberId: ana.id, name: 'Ana' } });
    const [out, other] = summary.awaitingApproval!;
    held = { out: out!.invitationId, other: other!.invitationId, boss: admin.awaitingApproval![0]!.invitationId };
  });
  afterAll(async () => {
    await test.destroy();
    data.cleanup();
  });

  it('approvals lists each waiting invitation with who asked and why; invites shows the status', async () => {
    const [list, table] = await Promise.all([doorman(['approvals']), doorman(['invites', '--status', 'awaiting_approval'])]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`${held.out}  out@other.io  member  asked by Ana`);
    expect(list.stdout).toContain('why: the address is outside the allowed domains');
    expect(list.stdout).toContain('why: the admin role needs approval');
    expect(list.stdout.trimEnd().split('\n').at(-1)).toMatch(/^3 waiting\./);
    // Page by page, the next page's command printed.
    const first = await doorman(['approvals', '--limit', '2']);
    expect(first.stdout.match(/^invite_\S+ {2}/gm)).toHaveLength(2);
    const more = /^More: doorman approvals --limit 2 --cursor (\S+)$/m.exec(first.stdout);
    expect(more, first.stdout).not.toBeNull();
    const rest = await doorman(['approvals', '--limit', '2', '--cursor', more![1]!]);
    expect(rest.stdout.match(/^invite_\S+ {2}/gm)).toHaveLength(1);
    expect(rest.stdout).not.toContain('More:');
    expect(`${first.stdout}${rest.stdout}`.match(/^invite_\S+/gm)!.sort()).toEqual(list.stdout.match(/^invite_\S+/gm)!.sort());
    expect(table.stdout).toMatch(new RegExp(`${held.boss}\\s+boss@acme\\.com\\s+Awaiting approval\\s+admin`));
    // Inviting a held address again points at the approval, not at a resend that would be refused.
    const again = await doorman(['invite', 'other@other.io']);
    expect(again.stdout).toContain(`other@other.io: skipped, already waiting for approval (doorman approve ${held.other})`);
  });

  it('approve as the operator sends; --as the requester is refused; deny needs --reason', async () => {
    const approved = await doorman(['approve', held.out]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^Approved the invitation to out@other\.io; the email is on its way/);
    expect((await invites.get(held.out)).status).toBe('pending');

    const own = await doorman(['approve', held.boss, '--as', 'ana@acme.com']);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/^doorman: You asked for this invitation, so someone else has to approve or deny it\.\n$/);
    const notApprover = await doorman(['approve', held.boss, '--as', 'dev@acme.com']);
    expect(notApprover.code).toBe(1);
    expect(notApprover.stderr).toContain('Invite: Approve');
    const deactivated = await doorman(['approve', held.boss, '--as', 'gone@acme.com']);
    expect([deactivated.code, deactivated.stderr]).toEqual([1, 'doorman: --as gone@acme.com: this member is deactivated; only an active member may decide.\n']);
    const unknown = await doorman(['approve', held.boss, '--as', 'nobody@acme.com']);
    expect([unknown.code, unknown.stderr]).toEqual([1, 'doorman: No member with email nobody@acme.com.\n']);
    const noReason = await doorman(['deny', held.boss]);
    expect(noReason.code).toBe(2);
    expect((await invites.get(held.boss)).status).toBe('awaiting_approval');

    const denied = await doorman(['deny', held.boss, '--reason', 'Admins are made by IT', '--as', 'ben@acme.com']);
    expect(denied.code, denied.stderr).toBe(0);
    expect((await invites.get(held.boss)).approval).toMatchObject({ decision: 'denied', decidedByName: 'Ben', denyReason: 'Admins are made by IT' });
    const twice = await doorman(['approve', held.boss]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe('doorman: This request was already denied by Ben.\n');
  });

  it("an approval request's id decides every invitation of it still waiting; approvals names it", async () => {
    const ana = (await test.db('members').where({ email: 'ana@acme.com' }).first('id')) as { id: string };
    const asker = { type: 'member' as const, memberId: ana.id, name: 'Ana' };
    const [r1] = (await invites.inviteMany({ emails: 'r1@req.io r2@req.io', actor: asker })).awaitingApproval!;
    const requestId = (await invites.get(r1!.invitationId)).approval!.requestId;
    expect(requestId).toMatch(/^request_/);
    expect((await doorman(['approvals'])).stdout).toContain(`r1@req.io  member  asked by Ana`);
    expect((await doorman(['approvals'])).stdout).toContain(`request: ${requestId}`);
    const own = await doorman(['approve', requestId, '--as', 'ana@acme.com']);
    expect([own.code, own.stderr]).toEqual([1, 'doorman: You asked for this invitation, so someone else has to approve or deny it.\n']);
    const approved = await doorman(['approve', requestId, '--as', 'ben@acme.com']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout.trim()).toBe(`Approved 2 invitation(s) of ${requestId}: r1@req.io, r2@req.io. Their emails are on their way.`);
    for (const email of ['r1@req.io', 'r2@req.io']) expect((await invites.list({ status: 'pending', search: email })).total).toBe(1);
    const again = await doorman(['approve', requestId]);
    expect([again.code, again.stderr]).toEqual([1, 'doorman: This request was already approved by Ben.\n']);

    const [d1] = (await invites.inviteMany({ emails: 'd1@req.io d2@req.io', actor: asker })).awaitingApproval!;
    const denyId = (await invites.get(d1!.invitationId)).approval!.requestId;
    const denied = await doorman(['deny', denyId, '--reason', 'Not now', '--json']);
    expect(denied.code, denied.stderr).toBe(0);
    const decision = JSON.parse(denied.stdout) as { decided: Array<{ email: string; status: string }>; members: string[] };
    expect(decision.decided.map((i) => [i.email, i.status])).toEqual([['d1@req.io', 'revoked'], ['d2@req.io', 'revoked']]);
    expect(decision.members).toEqual([]);

    // Every address of it a member meanwhile: nothing is approved, and the command says so.
    const [m1] = (await invites.inviteMany({ emails: 'm1@req.io', actor: asker })).awaitingApproval!;
    const memberId = (await invites.get(m1!.invitationId)).approval!.requestId;
    await new MembersService(test.db, systemClock).create({ email: 'm1@req.io', role: 'member' }, { type: 'system' });
    const none = await doorman(['approve', memberId]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe(`Nothing of ${memberId} was approved.\nLeft waiting, already members: m1@req.io (deny them, or let the request lapse).\n`);
  });

  it("the operator's own invitations are not held, and not limited", async () => {
    const result = await doorman(['invite', 'guest@other.io', '--role', 'admin']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('1 invitation sent.');
  });
});
