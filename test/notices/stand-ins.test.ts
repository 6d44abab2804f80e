import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, eventually, LINKED, MEMBER_ADMIN, pause, SLACK_ACTOR, SlackWorld, SYSTEM_ACTOR, textOf } from '../support/slack-world.js';

/**
 * Without SLACK_ADMIN_USER_IDS, what the inviter cannot hear (no Slack user, deactivated in Doorman
 * or in Slack) goes to the admin members linked to a Slack user instead of nowhere.
 */
describe.each(DIALECTS)('notices with no bootstrap admins (%s)', (dialect) => {
  let h: SlackWorld;

  beforeAll(async () => {
    h = await SlackWorld.start(dialect, { env: { SLACK_ADMIN_USER_IDS: '', INVITE_ALLOWED_DOMAINS: 'corp.test' } });
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('an acceptance and an expiry of invitations sent from the CLI reach the linked admin, and only them', async () => {
    await h.invite(['cli-joiner@corp.test'], SYSTEM_ACTOR);
    await h.invite(['cli-lapsed@corp.test'], SYSTEM_ACTOR);
    await h.smtp.waitFor(2);
    await h.accept('cli-joiner@corp.test');
    const [note] = await h.waitForDms(LINKED, 1);
    expect(note!.args.text).toBe('cli-joiner@corp.test accepted their invitation and joined as Member');
    h.clock.advance(7 * DAY + 1);
    await h.sweep();
    const [, expiry] = await h.waitForDms(LINKED, 2);
    expect(textOf(expiry!.args as any)).toContain('cli-lapsed@corp.test');
    expect(textOf(expiry!.args as any)).not.toContain('cli-joiner@corp.test');
    await pause(300);
    for (const other of [ADMIN, ADMIN2, MEMBER_ADMIN]) expect(h.dms(other)).toEqual([]);
  });

  it('an inviter deactivated in Slack (which still takes a DM, read by nobody): their expiry and acceptance notices reach the linked admin instead', async () => {
    const before = h.dms(LINKED).length;
    await h.invite(['left-expired@corp.test', 'left-joined@corp.test'], SLACK_ACTOR);
    await h.smtp.waitFor(h.smtp.received.length + 2);
    // Ada leaves the company: her Slack account is deactivated; her Doorman member stays as it was.
    h.api.users.set(MEMBER_ADMIN, { email: 'ada@corp.test', name: 'Ada Admin', deleted: true });
    await h.accept('left-joined@corp.test');
    h.clock.advance(7 * DAY + 1);
    await h.sweep();
    // One DM a second per recipient: the pace's clock is the test's.
    const dms = await h.paced(() => h.dms(LINKED).length >= before + 2 ? h.dms(LINKED).slice(before) : undefined, 'two DMs to the linked admin');
    const texts = dms.map((dm) => textOf(dm.args as any)).join('\n');
    expect(texts).toContain('left-joined@corp.test accepted their invitation');
    expect(texts).toContain('left-expired@corp.test');
    await h.settle();
    expect(h.dms(MEMBER_ADMIN)).toEqual([]);
    const cancelled = await h.db.db('outbox').where({ kind: 'slack_notice', state: 'cancelled' }).where('last_error', 'like', '%deactivated in Slack%');
    expect(cancelled).toHaveLength(2);

    // One of them tried again, as when its outcome was lost (a crash after the copies were queued):
    // the copies are not queued a second time.
    const notices = async () => (await h.db.db('outbox').where({ kind: 'slack_notice' }).count({ n: '*' }))[0]!.n;
    const queued = await notices();
    await h.db.db('outbox').where({ id: cancelled[0]!.id }).update({ state: 'pending', locked_until: null, next_attempt_at: h.clock.now(), done_at: null });
    h.app.services.slackOutbox.wake();
    await eventually(async () => (await h.db.db('outbox').where({ id: cancelled[0]!.id }).first()).state === 'cancelled', 10_000, 'the notice tried again');
    await h.settle();
    expect(await notices()).toBe(queued);
    expect(h.dms(LINKED)).toHaveLength(before + 2);
  });

  it('an approval outcome for a requester with no Slack user reaches the linked admins, all but the one who decided as a member (web, API)', async () => {
    const system = { type: 'system' as const, name: 'cli:test' };
    h.api.users.set('U0SECOND', { email: 'second@corp.test', name: 'Sec Ond' });
    await h.services.members.create({ email: 'second@corp.test', role: 'admin', firstName: 'Sec', lastName: 'Ond', slackUserId: 'U0SECOND' }, system);
    const { member } = await h.services.members.create({ email: 'api-only@corp.test', role: 'admin', firstName: 'Api', lastName: 'Only' }, system);
    const email = 'held@elsewhere.io';
    const [id] = (await h.services.invites.inviteMany({ emails: email, actor: { type: 'member', memberId: member.id, name: 'Api Only' } })).awaitingApproval!.map((e) => e.invitationId);
    await h.services.invites.deny(id!, { type: 'member', memberId: h.ids.linked, name: 'Lin Linked' }, 'Not now');
    const told = await h.paced(() => h.dms('U0SECOND').find((dm) => dm.args.text === `The invitation to ${email} was denied`), 'the other linked admin told');
    expect(textOf(told.args as any)).toContain('Asked for by Api Only');
    await h.settle();
    expect(h.dms(LINKED).filter((dm) => String(dm.args.text).includes(`invitation to ${email} was`))).toEqual([]);
  });

  it('a linked admin deactivated in Slack is a stand-in too: what they invited reaches the other linked admins, what they heard as a stand-in is not passed on again', async () => {
    // U0SECOND, the other linked admin, came with the test before.
    const lin = { type: 'slack' as const, slackUserId: LINKED, name: 'Lin Linked' };
    const [before, beforeSecond, emails] = [h.dms(LINKED).length, h.dms('U0SECOND').length, h.smtp.received.length];
    await h.invite(['lin-own@corp.test'], lin);
    await h.invite(['nobodys@corp.test'], SYSTEM_ACTOR);
    await h.smtp.waitFor(emails + 2);
    h.api.users.set(LINKED, { email: 'lin@corp.test', name: 'Lin Linked', deleted: true });
    try {
      h.clock.advance(7 * DAY + 1);
      await h.sweep();
      const told = (email: string) => h.dms('U0SECOND').slice(beforeSecond).filter((dm) => textOf(dm.args as any).includes(email)).length;
      await eventually(() => {
        h.clock.advance(1_100);
        return told('lin-own@corp.test') > 0 && told('nobodys@corp.test') > 0;
      }, 10_000, 'both expiries told to the other linked admin');
      await h.settle();
      // Each once: Lin's own passed on, the one Lin heard of as a stand-in not again.
      expect([told('lin-own@corp.test'), told('nobodys@corp.test')]).toEqual([1, 1]);
      expect(h.dms(LINKED)).toHaveLength(before);
    } finally {
      h.api.users.set(LINKED, { email: 'lin@corp.test', name: 'Lin Linked' });
    }
  });
  it('a linked admin demoted in Doorman after their notices were queued: what they invited reaches the other linked admins, what they heard as a stand-in is not passed on, and they hear nothing more', async () => {
    const system = { type: 'system' as const, name: 'cli:test' };
    // What the app kept of Slack's answer that LINKED was deactivated (the test before) goes stale.
    h.clock.advance(2 * 3_600_000);
    h.api.users.set('U0THIRD', { email: 'third@corp.test', name: 'Thi Rd' });
    const { member } = await h.services.members.create({ email: 'third@corp.test', role: 'admin', firstName: 'Thi', lastName: 'Rd', slackUserId: 'U0THIRD' }, system);
    const third = { type: 'slack' as const, slackUserId: 'U0THIRD', memberId: member.id, name: 'Thi Rd' };
    // The other linked admins (U0SECOND too when the tests before ran).
    const others = (await h.db.db('members').where({ role: 'admin', state: 'active' }).whereNot({ slack_user_id: 'U0THIRD' }).whereNotNull('slack_user_id').pluck('slack_user_id')) as string[];
    expect(others).toContain(LINKED);
    const heard = (user: string, email: string) => h.dms(user).filter((dm) => dm.args.text === `${email} accepted their invitation and joined as Member`).length;
    await h.invite(['third-first@corp.test', 'third-own@corp.test'], third);
    await h.invite(['nobodys-joiner@corp.test'], SYSTEM_ACTOR);
    await h.accept('third-first@corp.test');
    // The first DM to U0THIRD takes this second of their pace: what follows waits on the test's clock.
    await h.waitForDms('U0THIRD', 1);
    await h.accept('third-own@corp.test');
    await h.accept('nobodys-joiner@corp.test');
    await eventually(() => others.every((user) => heard(user, 'nobodys-joiner@corp.test') === 1), 10_000, 'the stand-ins told of the CLI invitation');
    await h.services.members.setRole(member.id, 'member', system);
    await h.paced(() => others.every((user) => heard(user, 'third-own@corp.test') === 1), 'the demoted admin\'s own acceptance told to the other linked admins');
    await h.settled();
    await h.settle();
    expect(h.dms('U0THIRD').map((dm) => dm.args.text)).toEqual(['third-first@corp.test accepted their invitation and joined as Member']);
    for (const user of others) expect([heard(user, 'third-own@corp.test'), heard(user, 'nobodys-joiner@corp.test')]).toEqual([1, 1]);
    const cancelled = await h.db.db('outbox').where({ kind: 'slack_notice', state: 'cancelled' }).where('last_error', 'like', '%can no longer act in Doorman%');
    expect(cancelled).toHaveLength(2);
  });
  it('a linked admin deactivated after their notice was queued, whose invitation came from the API: the others hear of it (the link they held then)', async () => {
    const system = { type: 'system' as const, name: 'cli:test' };
    h.clock.advance(2 * 3_600_000);
    h.api.users.set('U0FOURTH', { email: 'fourth@corp.test', name: 'Fou Rth' });
    const { member } = await h.services.members.create({ email: 'fourth@corp.test', role: 'admin', firstName: 'Fou', lastName: 'Rth', slackUserId: 'U0FOURTH' }, system);
    const viaApi = { type: 'member' as const, memberId: member.id, name: 'Fou Rth' };
    const others = (await h.db.db('members').where({ role: 'admin', state: 'active' }).whereNot({ slack_user_id: 'U0FOURTH' }).whereNotNull('slack_user_id').pluck('slack_user_id')) as string[];
    const heard = (user: string, email: string) => h.dms(user).filter((dm) => dm.args.text === `${email} accepted their invitation and joined as Member`).length;
    await h.invite(['fourth-first@corp.test', 'fourth-api@corp.test'], viaApi);
    await h.accept('fourth-first@corp.test');
    // The first DM to U0FOURTH takes this second of their pace: the next waits on the test's clock.
    await h.waitForDms('U0FOURTH', 1);
    await h.accept('fourth-api@corp.test');
    h.clock.advance(1);
    await h.services.members.deactivate(member.id, system);
    await h.paced(() => others.every((user) => heard(user, 'fourth-api@corp.test') === 1), 'the deactivated admin\'s own acceptance told to the other linked admins');
    await h.settled();
    expect(h.dms('U0FOURTH')).toHaveLength(1);
  });

  it('an admin whose Slack link was released still hears of what they invited from Slack: the rule is the inviting member\'s, as when it was queued', async () => {
    const system = { type: 'system' as const, name: 'cli:test' };
    h.api.users.set('U0FIFTH', { email: 'fifth@corp.test', name: 'Fif Th' });
    const { member } = await h.services.members.create({ email: 'fifth@corp.test', role: 'admin', firstName: 'Fif', lastName: 'Th', slackUserId: 'U0FIFTH' }, system);
    await h.invite(['fifth-joiner@corp.test'], { type: 'slack', slackUserId: 'U0FIFTH', memberId: member.id, name: 'Fif Th' });
    await h.services.members.setSlackUser(member.id, null, system);
    await h.accept('fifth-joiner@corp.test');
    const [note] = await h.paced(() => h.dms('U0FIFTH').length ? h.dms('U0FIFTH') : undefined, 'the acceptance told to the inviter');
    expect(note!.args.text).toBe('fifth-joiner@corp.test accepted their invitation and joined as Member');
  });
});
