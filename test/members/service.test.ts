import { describe, expect, it } from 'vitest';
import { tokenHash } from '../../src/invites/tokens.js';
import { Scrypt } from '../../src/members/passwords.js';
import { can, type MemberRow } from '../../src/members/service.js';
import { AlreadyMember, InvalidCredentials, InvalidInput, LastAdmin, MemberDeactivated, NotFound, WeakPassword } from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import { auditFor, CLI, countRows, PASSWORD, SLACK_ADMIN, useWorld } from '../invites/fixtures.js';

describe.each(DIALECTS)('MembersService (%s)', (dialect) => {
  const world = useWorld(dialect);

  async function memberRow(id: string): Promise<MemberRow> {
    const row = await world().db<MemberRow>('members').where({ id }).first();
    if (!row) throw new Error(`no member ${id}`);
    return row;
  }

  it('creates a member with a normalized email and a scrypt (logN ≥ 15) password hash', async () => {
    const w = world();
    const { member, apiToken } = await w.members.create({ email: '  Jane@X.IO ', role: 'admin', firstName: 'Jane', lastName: 'Doe', password: PASSWORD }, CLI);
    expect(apiToken).toBeUndefined();
    expect(member).toMatchObject({ email: 'jane@x.io', role: 'admin', state: 'active', firstName: 'Jane', lastName: 'Doe', hasApiToken: false, createdAt: w.clock.now() });
    expect(member.id).toMatch(/^usr_/);
    const row = await memberRow(member.id);
    expect(Scrypt.viewParams(Buffer.from(row.password_hash!, 'base64')).logN).toBeGreaterThanOrEqual(15);
    expect(await w.members.get(member.id)).toEqual(member);
    expect(await w.members.findByEmail('JANE@x.io')).toEqual(member);
    const audit = await auditFor(w.db, member.id);
    expect(audit.map((a) => [a.action, a.actor_type, a.actor_id])).toEqual([['member_create', 'system', 'cli']]);
  });

  it('a member created with an API token and a Slack link has both audited, as when given later (the rule "Audit")', async () => {
    const w = world();
    const { member, apiToken } = await w.members.create({ email: 'ops@x.io', role: 'admin', withApiToken: true, slackUserId: 'U0OPS' }, CLI);
    expect(apiToken).toBeDefined();
    const audit = await auditFor(w.db, member.id);
    expect(audit.map((a) => a.action)).toEqual(['member_create', 'api_token_issue', 'slack_link']);
    expect(audit.every((a) => a.actor_type === 'system' && a.actor_id === 'cli')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(apiToken!);
  });

  it('defaults the role to member and refuses bad input', async () => {
    const w = world();
    expect((await w.members.create({ email: 'a@x.io' }, CLI)).member.role).toBe('member');
    await expect(w.members.create({ email: 'not-an-email' }, CLI)).rejects.toBeInstanceOf(InvalidInput);
    await expect(w.members.create({ email: 'b@x.io', role: 'root' as never }, CLI)).rejects.toBeInstanceOf(InvalidInput);
    await expect(w.members.create({ email: 'b@x.io', password: 'short' }, CLI)).rejects.toBeInstanceOf(WeakPassword);
    expect(await countRows(w.db, 'members')).toBe(1);
  });

  it('keeps emails unique case-insensitively (AlreadyMember)', async () => {
    const w = world();
    await w.members.create({ email: 'jane@x.io' }, CLI);
    await expect(w.members.create({ email: 'JANE@X.io' }, CLI)).rejects.toBeInstanceOf(AlreadyMember);
    await expect(w.members.create({ email: 'mailto:Jane@x.io' }, CLI)).rejects.toBeInstanceOf(AlreadyMember);
    expect(await countRows(w.db, 'members')).toBe(1);
    expect(await countRows(w.db, 'audit_log')).toBe(1);
  });

  it('says so when the address belongs to a deactivated member, and how to bring them back', async () => {
    const w = world();
    const { member } = await w.members.create({ email: 'gone@x.io' }, CLI);
    await w.members.deactivate(member.id, CLI);
    await expect(w.members.create({ email: 'Gone@x.io' }, CLI)).rejects.toThrow('gone@x.io belongs to a deactivated member; invite the address to bring them back');
    expect(await countRows(w.db, 'members')).toBe(1);
  });

  it('verifies credentials; wrong password, unknown email and deactivated all answer InvalidCredentials', async () => {
    const w = world();
    const { member } = await w.members.create({ email: 'jane@x.io', password: PASSWORD }, CLI);
    await w.members.create({ email: 'nopass@x.io' }, CLI);
    expect((await w.members.verifyCredentials('Jane@X.io', PASSWORD)).id).toBe(member.id);
    await expect(w.members.verifyCredentials('jane@x.io', PASSWORD + '!')).rejects.toBeInstanceOf(InvalidCredentials);
    await expect(w.members.verifyCredentials('jane@x.io', '')).rejects.toBeInstanceOf(InvalidCredentials);
    await expect(w.members.verifyCredentials('nobody@x.io', PASSWORD)).rejects.toBeInstanceOf(InvalidCredentials);
    await expect(w.members.verifyCredentials('garbage', PASSWORD)).rejects.toBeInstanceOf(InvalidCredentials);
    await expect(w.members.verifyCredentials('nopass@x.io', '')).rejects.toBeInstanceOf(InvalidCredentials);
    await expect(w.members.verifyCredentials('jane@x.io', 'x'.repeat(5000))).rejects.toBeInstanceOf(InvalidCredentials);
    await w.members.create({ email: 'admin@x.io', role: 'admin' }, CLI);
    await w.members.deactivate(member.id, SLACK_ADMIN);
    await expect(w.members.verifyCredentials('jane@x.io', PASSWORD)).rejects.toBeInstanceOf(InvalidCredentials);
  });

  it('changes roles, recording who did it', async () => {
    const w = world();
    const admin = (await w.members.create({ email: 'admin@x.io', role: 'admin' }, CLI)).member;
    const jane = (await w.members.create({ email: 'jane@x.io' }, CLI)).member;
    w.clock.advance(1000);
    const actor = { type: 'member', memberId: admin.id } as const;
    expect(await w.members.setRole(jane.id, 'developer', actor)).toMatchObject({ role: 'developer', updatedAt: w.clock.now() });
    expect((await w.members.get(jane.id)).role).toBe('developer');
    // Same role again: no change, no audit row.
    await w.members.setRole(jane.id, 'developer', actor);
    await expect(w.members.setRole(jane.id, 'god' as never, actor)).rejects.toBeInstanceOf(InvalidInput);
    await expect(w.members.setRole('usr_NOPE', 'admin', actor)).rejects.toBeInstanceOf(NotFound);
    const audit = await auditFor(w.db, jane.id);
    expect(audit.map((a) => ({ action: a.action, actor_type: a.actor_type, actor_id: a.actor_id, at: Number(a.at) }))).toEqual([
      { action: 'member_create', actor_type: 'system', actor_id: 'cli', at: w.clock.now() - 1000 },
      { action: 'role_change', actor_type: 'member', actor_id: admin.id, at: w.clock.now() },
    ]);
    expect(JSON.parse(audit[1]!.details!)).toEqual({ from: 'member', to: 'developer' });
  });

  it('never demotes or deactivates the last active admin (LastAdmin)', async () => {
    const w = world();
    const ada = (await w.members.create({ email: 'ada@x.io', role: 'admin' }, CLI)).member;
    await expect(w.members.setRole(ada.id, 'member', CLI)).rejects.toBeInstanceOf(LastAdmin);
    await expect(w.members.deactivate(ada.id, CLI)).rejects.toBeInstanceOf(LastAdmin);
    expect(await w.members.get(ada.id)).toMatchObject({ role: 'admin', state: 'active' });

    // A deactivated admin does not count.
    const old = (await w.members.create({ email: 'old@x.io', role: 'admin' }, CLI)).member;
    await w.members.deactivate(old.id, CLI);
    await expect(w.members.setRole(ada.id, 'member', CLI)).rejects.toBeInstanceOf(LastAdmin);

    // With a second admin, one may go.
    const bob = (await w.members.create({ email: 'bob@x.io', role: 'admin' }, CLI)).member;
    expect((await w.members.setRole(ada.id, 'developer', CLI)).role).toBe('developer');
    await expect(w.members.deactivate(bob.id, CLI)).rejects.toBeInstanceOf(LastAdmin);
    await expect(w.members.setRole(bob.id, 'member', CLI)).rejects.toBeInstanceOf(LastAdmin);
    expect(await countRows(w.db, 'members', { role: 'admin', state: 'active' })).toBe(1);
    expect(await countRows(w.db, 'audit_log', { action: 'deactivate' })).toBe(1);
  });

  it('two admins demoting each other at once leave one admin', async () => {
    const w = world();
    const a = (await w.members.create({ email: 'a@x.io', role: 'admin' }, CLI)).member;
    const b = (await w.members.create({ email: 'b@x.io', role: 'admin' }, CLI)).member;
    const results = await Promise.allSettled([w.members.setRole(a.id, 'member', CLI), w.members.deactivate(b.id, CLI)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed?.reason).toBeInstanceOf(LastAdmin);
    expect(await countRows(w.db, 'members', { role: 'admin', state: 'active' })).toBe(1);
  });

  it('deactivates, records it, and refuses role changes of deactivated members', async () => {
    const w = world();
    await w.members.create({ email: 'admin@x.io', role: 'admin' }, CLI);
    const jane = (await w.members.create({ email: 'jane@x.io' }, CLI)).member;
    w.clock.advance(5000);
    const gone = await w.members.deactivate(jane.id, SLACK_ADMIN);
    expect(gone).toMatchObject({ state: 'deactivated', updatedAt: w.clock.now() });
    expect(Number((await memberRow(jane.id)).deactivated_at)).toBe(w.clock.now());
    // Deactivating again changes nothing and records nothing.
    await w.members.deactivate(jane.id, SLACK_ADMIN);
    const audit = (await auditFor(w.db, jane.id)).filter((a) => a.action === 'deactivate');
    expect(audit.map((a) => [a.actor_type, a.actor_id, Number(a.at)])).toEqual([['slack', 'U123ADMIN', w.clock.now()]]);
    await expect(w.members.setRole(jane.id, 'admin', CLI)).rejects.toBeInstanceOf(MemberDeactivated);
    await expect(w.members.issueApiToken(jane.id, CLI)).rejects.toBeInstanceOf(MemberDeactivated);
    expect(can(gone, 'member:manage')).toBe(false);
  });

  it('shows an API token once, stores only its hash, finds the member by it until deactivation', async () => {
    const w = world();
    await w.members.create({ email: 'admin@x.io', role: 'admin' }, CLI);
    const { member, apiToken } = await w.members.create({ email: 'dev@x.io', role: 'developer', withApiToken: true }, CLI);
    expect(apiToken).toMatch(/^dm_[A-Za-z0-9_-]{43}$/);
    expect(member.hasApiToken).toBe(true);
    const row = await memberRow(member.id);
    expect(row.api_token_hash).not.toBe(apiToken);
    expect(row.api_token_hash).toBe(tokenHash(apiToken!));
    expect(JSON.stringify(await w.db('members').select('*'))).not.toContain(apiToken!);
    expect(JSON.stringify(await w.db('audit_log').select('*'))).not.toContain(apiToken!);
    // Shown once: reading the member back never yields it.
    expect(JSON.stringify(await w.members.get(member.id))).not.toContain(apiToken!);

    expect((await w.members.findByApiToken(apiToken!))?.id).toBe(member.id);
    expect(await w.members.findByApiToken(row.api_token_hash!)).toBeUndefined();
    expect(await w.members.findByApiToken(apiToken!.slice(0, -1) + (apiToken!.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(await w.members.findByApiToken('')).toBeUndefined();

    await w.members.deactivate(member.id, CLI);
    expect(await w.members.findByApiToken(apiToken!)).toBeUndefined();
    expect((await memberRow(member.id)).api_token_hash).toBeNull();
  });

  it('a newly issued API token replaces the old one', async () => {
    const w = world();
    const { member, apiToken: first } = await w.members.create({ email: 'dev@x.io', withApiToken: true }, CLI);
    const second = await w.members.issueApiToken(member.id, SLACK_ADMIN);
    expect(second).not.toBe(first);
    expect(await w.members.findByApiToken(first!)).toBeUndefined();
    expect((await w.members.findByApiToken(second))?.id).toBe(member.id);
    expect((await memberRow(member.id)).api_token_hash).toBe(tokenHash(second));
  });

  it('lists members by email, filtered by state', async () => {
    const w = world();
    await w.members.create({ email: 'c@x.io', role: 'admin' }, CLI);
    const b = (await w.members.create({ email: 'b@x.io' }, CLI)).member;
    await w.members.create({ email: 'a@x.io' }, CLI);
    await w.members.deactivate(b.id, CLI);
    expect((await w.members.list()).members.map((m) => m.email)).toEqual(['a@x.io', 'b@x.io', 'c@x.io']);
    expect(await w.members.list({ state: 'active' })).toMatchObject({ total: 2 });
    expect((await w.members.list({ state: 'deactivated' })).members.map((m) => m.email)).toEqual(['b@x.io']);
    // The email filter reads an address as it is stored: any case, a mailto:, a domain in its own letters.
    const jane = (await w.members.create({ email: 'jane@bücher.de' }, CLI)).member;
    expect(jane.email).toBe('jane@xn--bcher-kva.de');
    for (const typed of ['Jane@Bücher.de', ' mailto:JANE@xn--bcher-kva.de ']) expect((await w.members.list({ email: typed })).members.map((m) => m.id)).toEqual([jane.id]);
    expect(await w.members.list({ email: 'not an address' })).toMatchObject({ members: [], total: 0 });
    for (const typed of ['Bücher', 'jane@bücher', 'xn--bcher']) expect((await w.members.list({ search: typed })).members.map((m) => m.id)).toEqual([jane.id]);
  });

  it('links a Slack user and finds the member by it', async () => {
    const w = world();
    const { member } = await w.members.create({ email: 'jane@x.io', slackUserId: 'U0JANE' }, CLI);
    expect((await w.members.findBySlackUserId('U0JANE'))?.id).toBe(member.id);
    const bob = (await w.members.create({ email: 'bob@x.io' }, CLI)).member;
    expect(await w.members.linkSlackUser(bob.id, 'U0BOB', CLI)).toBe(true);
    expect((await w.members.findBySlackUserId('U0BOB'))?.id).toBe(bob.id);
    expect(await w.members.findBySlackUserId('U0NOBODY')).toBeUndefined();
    // A link is never moved by a first contact: Jane keeps hers, and U0BOB cannot become Jane.
    expect(await w.members.linkSlackUser(member.id, 'U0OTHER', CLI)).toBe(false);
    expect(await w.members.linkSlackUser(member.id, 'U0BOB', CLI)).toBe(false);
    expect((await w.members.get(member.id)).slackUserId).toBe('U0JANE');
    // The operator's explicit re-link moves it, and the audit log says so.
    expect((await w.members.setSlackUser(member.id, 'U0BOB', CLI)).slackUserId).toBe('U0BOB');
    expect((await w.members.get(bob.id)).slackUserId).toBeNull();
    const audit = await w.db('audit_log').where({ action: 'slack_link' }).orderBy('id');
    // Jane's link at creation, bob's, then the operator moving bob's Slack user to jane.
    expect(audit.map((row: { subject_id: string }) => row.subject_id)).toEqual([member.id, bob.id, member.id]);
    // Bob's own history says he lost it, and to whom.
    const unlinked = (await auditFor(w.db, bob.id)).filter((a) => a.action === 'slack_unlink');
    expect(unlinked.map((a) => JSON.parse(String(a.details)))).toEqual([{ slackUserId: null, previous: 'U0BOB', movedTo: member.id }]);
  });

  it('deactivation releases the Slack link: the same person comes back with another account and is recognized; a deactivated member is not linked', async () => {
    const w = world();
    await w.members.create({ email: 'admin@x.io', role: 'admin' }, CLI);
    const old = (await w.members.create({ email: 'ana@old.io', role: 'admin', slackUserId: 'U0ANA' }, CLI)).member;
    await w.members.deactivate(old.id, SLACK_ADMIN);
    expect((await w.members.get(old.id)).slackUserId).toBeNull();
    expect(await w.members.findBySlackUserId('U0ANA')).toBeUndefined();
    const deactivation = (await auditFor(w.db, old.id)).find((a) => a.action === 'deactivate')!;
    expect(JSON.parse(String(deactivation.details))).toEqual({ slackUserId: 'U0ANA' });

    const again = (await w.members.create({ email: 'ana@new.io', role: 'admin' }, CLI)).member;
    expect(await w.members.linkSlackUser(again.id, 'U0ANA', CLI)).toBe(true);
    expect((await w.members.findBySlackUserId('U0ANA'))?.id).toBe(again.id);
    // The operator cannot put a link on a deactivated account (it would lock the Slack user out).
    await expect(w.members.setSlackUser(old.id, 'U0ANA', CLI)).rejects.toThrow(/deactivated/);
    expect((await w.members.findBySlackUserId('U0ANA'))?.id).toBe(again.id);
  });

  it('refuses to create a member with a malformed or taken Slack user id, and creates nothing', async () => {
    const w = world();
    await w.members.create({ email: 'jane@x.io', slackUserId: 'U0JANE' }, CLI);
    for (const id of ['x', 'u0lower', 'C0CHANNEL', '']) {
      await expect(w.members.create({ email: 'bob@x.io', slackUserId: id }, CLI)).rejects.toThrow(InvalidInput);
    }
    // The id is the collision, not the email: the message says so.
    await expect(w.members.create({ email: 'bob@x.io', slackUserId: 'U0JANE' }, CLI)).rejects.toThrow('U0JANE is linked to another member.');
    await expect(w.members.create({ email: 'JANE@x.io', slackUserId: 'U0OTHER' }, CLI)).rejects.toThrow(AlreadyMember);
    expect(await countRows(w.db, 'members')).toBe(1);
  });
});

describe('permissions', () => {
  it('admin has member:manage only while active; other roles never', () => {
    expect(can({ role: 'admin', state: 'active' }, 'member:manage')).toBe(true);
    expect(can({ role: 'admin', state: 'deactivated' }, 'member:manage')).toBe(false);
    expect(can({ role: 'member', state: 'active' }, 'member:manage')).toBe(false);
    expect(can({ role: 'developer', state: 'active' }, 'member:manage')).toBe(false);
    expect(can(undefined, 'member:manage')).toBe(false);
  });
});
