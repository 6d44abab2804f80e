import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, HOUR, LINKED, MEMBER_ADMIN, SlackWorld, noticeIdOf, pause, SLACK_ACTOR, SYSTEM_ACTOR, type QueuedNotice } from '../support/slack-world.js';
import { buttonFor, elementsOf, eventually, textOf } from '../support/slack-world.js';

/**
 * Expiry notices batched one DM per recipient per sweep, each
 * expiry announced once over many sweeps, and reminders before expiry (with Resend), on the real
 * app against the Slack stand-in, a real SMTP server and a ManualClock that the sweep reads.
 */
describe.each(DIALECTS)('expiry notices and reminders (%s)', (dialect) => {
  let h: SlackWorld;
  /** How many queued notices of a kind list each invitation (one per recipient). */
  const listedIn = async (notice: 'expired' | 'reminder', ids: string[]) => {
    const listed = (await h.notices()).filter((n) => n.payload.notice === notice).flatMap((n) => ('invitationIds' in n.payload ? n.payload.invitationIds : []));
    return Object.fromEntries(ids.map((id) => [id, listed.filter((l) => l === id).length]));
  };
  const expiredNotices = async () => (await h.notices()).filter((n) => n.payload.notice === 'expired');
  const wave1: Record<'slack' | 'system' | 'api' | 'linked', string[]> = { slack: [], system: [], api: [], linked: [] };

  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('sends one DM per recipient listing every expiry of the sweep: the inviter\'s own, or every bootstrap admin\'s when the inviter has no Slack user', async () => {
    wave1.slack = await h.invite(['s1@corp.test', 's2@corp.test', 's3@corp.test'], SLACK_ACTOR);
    // The CLI's way (an operator, no Slack user) and the admin API's way (a member without one).
    wave1.system = await h.invite(['cli1@corp.test', 'cli2@corp.test'], SYSTEM_ACTOR);
    const response = await fetch(`${h.app.url}/admin/invites`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-medusa-access-token': h.opsToken },
      body: JSON.stringify({ user: 'api1@corp.test', role: 'developer' }),
    });
    expect(response.status).toBe(200);
    wave1.api = [(await h.services.invites.list({ search: 'api1@corp.test' })).invitations[0]!.id];
    // A member whose own Slack user is linked hears about their own invitations.
    wave1.linked = await h.invite(['lin1@corp.test'], { type: 'member', memberId: h.ids.linked, name: 'Lin Linked' });
    await h.smtp.waitFor(7);
    await h.sweep();
    expect(h.dms()).toEqual([]);

    h.clock.advance(7 * DAY + 60_000);
    await h.sweep();
    const [ada, boss, boss2, lin] = await Promise.all([h.waitForDms(MEMBER_ADMIN, 1), h.waitForDms(ADMIN, 1), h.waitForDms(ADMIN2, 1), h.waitForDms(LINKED, 1)]);
    await h.settled();
    await pause(300);
    expect(h.dms()).toHaveLength(4);

    expect(ada).toHaveLength(1);
    expect(ada[0]!.args.text).toBe('3 invitations expired');
    const adaText = textOf(ada[0]!.args);
    for (const email of ['s1@corp.test', 's2@corp.test', 's3@corp.test']) expect(adaText).toContain(email);
    expect(adaText).not.toContain('cli1@corp.test');
    expect(adaText).toMatch(/Invited <!date\^\d+\^/);
    expect(adaText).toContain('by <@U0MEMADM>');
    for (const id of wave1.slack) expect(buttonFor(ada[0]!.args.blocks, 'send_new_invitation', id).text.text).toBe('Send new invitation');
    expect(buttonFor(ada[0]!.args.blocks, 'notice_send_new_all').text.text).toBe('Send new invitations to all (3)');

    // Bootstrap admins each get one DM with everything that had no Slack inviter.
    for (const dm of [boss, boss2]) {
      expect(dm).toHaveLength(1);
      expect(dm[0]!.args.text).toBe('3 invitations expired');
      const text = textOf(dm[0]!.args);
      for (const email of ['cli1@corp.test', 'cli2@corp.test', 'api1@corp.test']) expect(text).toContain(email);
      expect(text).not.toContain('s1@corp.test');
      expect(text).not.toContain('lin1@corp.test');
    }
    expect(lin).toHaveLength(1);
    expect(lin[0]!.args.text).toBe('1 invitation expired');
    expect(textOf(lin[0]!.args)).toContain('lin1@corp.test');
    // One invitation: its own button, no "to all".
    expect(elementsOf(lin[0]!.args.blocks).map((e) => e.action_id.replace(/_\d+$/, ''))).toEqual(['send_new_invitation', 'invite_revoke']);

    const notices = await expiredNotices();
    expect(notices.map((n) => n.payload.recipient).sort()).toEqual([ADMIN, ADMIN2, LINKED, MEMBER_ADMIN].sort());
    expect(notices.every((n) => n.state === 'done')).toBe(true);
    // The DM's buttons carry the notice they belong to.
    expect(noticeIdOf(ada[0]!)).toBe(notices.find((n) => n.payload.recipient === MEMBER_ADMIN)!.id);
  });

  it('announces each expiry exactly once over many sweeps, and a later wave in a DM of its own', async () => {
    const all = [...wave1.slack, ...wave1.system, ...wave1.api, ...wave1.linked];
    const before = await listedIn('expired', all);
    // Each in one DM: the bootstrap admins' invitations in one DM to each of the two admins.
    for (const id of [...wave1.slack, ...wave1.linked]) expect(before[id]).toBe(1);
    for (const id of [...wave1.system, ...wave1.api]) expect(before[id]).toBe(2);
    for (let i = 0; i < 6; i++) {
      const result = await h.sweep();
      expect(result).toEqual({ expired: 0, reminded: 0, notices: 0 });
      h.clock.advance(HOUR);
    }
    await pause(1_200); // the app's own sweep runs every second, too
    expect(h.dms()).toHaveLength(4);
    expect(await expiredNotices()).toHaveLength(4);
    expect(await listedIn('expired', all)).toEqual(before);

    const wave2 = await h.invite(['w2a@corp.test', 'w2b@corp.test'], SLACK_ACTOR);
    await h.smtp.waitFor(9);
    h.clock.advance(7 * DAY + 1);
    await h.sweep();
    const ada = await h.waitForDms(MEMBER_ADMIN, 2);
    await h.settled();
    await pause(300);
    expect(ada).toHaveLength(2);
    expect(ada[1]!.args.text).toBe('2 invitations expired');
    expect(textOf(ada[1]!.args)).toContain('w2a@corp.test');
    expect(textOf(ada[1]!.args)).not.toContain('s1@corp.test');
    expect(h.dms()).toHaveLength(5);
    for (let i = 0; i < 3; i++) expect((await h.sweep()).expired).toBe(0);
    expect(Object.values(await listedIn('expired', wave2))).toEqual([1, 1]);
  });

  it('reminds once before expiry with Resend; a resend re-arms the reminder; then the expiry DM', async () => {
    const [r1] = await h.invite(['r1@corp.test'], SLACK_ACTOR);
    await h.smtp.waitFor(10);
    const firstToken = h.smtp.to('r1@corp.test')[0]!.token;
    h.clock.advance(6 * DAY + HOUR); // 23 hours left: inside the 24-hour reminder window
    await h.sweep();
    const reminders = await h.waitForDms(MEMBER_ADMIN, 3);
    const reminder = reminders[2]!;
    expect(reminder.args.text).toBe('1 invitation will expire soon');
    expect(textOf(reminder.args)).toContain('r1@corp.test');
    expect(textOf(reminder.args)).toMatch(/expires <!date\^\d+\^/);
    const resend = buttonFor(reminder.args.blocks, 'invite_resend', r1);
    expect(resend.text.text).toBe('Resend');

    // Many sweeps later, still one reminder.
    for (let i = 0; i < 4; i++) {
      expect((await h.sweep()).reminded).toBe(0);
      h.clock.advance(60_000);
    }
    await pause(1_100);
    expect(h.dms(MEMBER_ADMIN)).toHaveLength(3);

    // Resend from the reminder DM: the same link again, later expiry, the DM updated in place.
    const click = await h.clickDm(reminder, resend, { user: MEMBER_ADMIN });
    expect(click.ack.status).toBe(200);
    const updated = (await h.api.response(click.responseId)).body;
    expect(updated.replace_original).toBe(true);
    expect(textOf(updated)).toContain('Sent the invitation to *r1@corp.test* again');
    await h.smtp.waitFor(11);
    expect(h.smtp.to('r1@corp.test')[1]!.token).toBe(firstToken);
    const afterResend = await h.services.invites.get(r1!);
    expect(afterResend.expiresAt).toBe(h.clock.now() + 7 * DAY);
    expect(await listedIn('reminder', [r1!])).toEqual({ [r1!]: 1 });

    // The reminder is due again before the new expiry, once.
    h.clock.advance(6 * DAY + HOUR);
    await h.sweep();
    const again = await h.waitForDms(MEMBER_ADMIN, 4);
    expect(again[3]!.args.text).toBe('1 invitation will expire soon');
    expect((await h.sweep()).reminded).toBe(0);
    expect(await listedIn('reminder', [r1!])).toEqual({ [r1!]: 2 });

    // And when it does expire: the expiry DM, once.
    h.clock.advance(DAY);
    await h.sweep();
    const expired = await h.waitForDms(MEMBER_ADMIN, 5);
    expect(expired[4]!.args.text).toBe('1 invitation expired');
    expect(textOf(expired[4]!.args)).toContain('r1@corp.test');
    await h.settled();
    await pause(300);
    expect(h.dms(MEMBER_ADMIN)).toHaveLength(5);
  });

  it('sends no 24-hour reminder for a 1-hour invitation, and a revoked one is never announced', async () => {
    await h.restart({ env: { INVITE_TTL: '1h' } });
    const [short, gone] = await h.invite(['short@corp.test', 'gone@corp.test'], SLACK_ACTOR);
    await eventually(() => h.smtp.to('short@corp.test').length === 1 && h.smtp.to('gone@corp.test').length === 1, 10_000, 'the invitation emails');
    await h.services.invites.revoke(gone!, SLACK_ACTOR);
    const count = h.dms(MEMBER_ADMIN).length;
    h.clock.advance(30 * 60_000);
    expect(await h.sweep()).toEqual({ expired: 0, reminded: 0, notices: 0 });
    h.clock.advance(31 * 60_000);
    await h.sweep();
    const dms = await h.waitForDms(MEMBER_ADMIN, count + 1);
    expect(dms[count]!.args.text).toBe('1 invitation expired');
    expect(textOf(dms[count]!.args)).toContain('short@corp.test');
    expect(textOf(dms[count]!.args)).not.toContain('gone@corp.test');
    expect(await listedIn('reminder', [short!, gone!])).toEqual({ [short!]: 0, [gone!]: 0 });
    await pause(300);
    expect(h.dms(MEMBER_ADMIN)).toHaveLength(count + 1);
  });

  it('EXPIRY_REMINDER=0 turns reminders off; expiry notices still come', async () => {
    await h.restart({ env: { EXPIRY_REMINDER: '0', INVITE_TTL: '7d' } });
    const [quiet] = await h.invite(['quiet@corp.test'], SLACK_ACTOR);
    await eventually(() => h.smtp.to('quiet@corp.test').length === 1, 10_000, 'the invitation email');
    const count = h.dms(MEMBER_ADMIN).length;
    h.clock.advance(6 * DAY + 23 * HOUR);
    expect(await h.sweep()).toEqual({ expired: 0, reminded: 0, notices: 0 });
    await pause(1_100);
    expect(h.dms(MEMBER_ADMIN)).toHaveLength(count);
    expect(await listedIn('reminder', [quiet!])).toEqual({ [quiet!]: 0 });
    h.clock.advance(2 * HOUR);
    await h.sweep();
    const dms = await h.waitForDms(MEMBER_ADMIN, count + 1);
    expect(dms[count]!.args.text).toBe('1 invitation expired');
    expect(textOf(dms[count]!.args)).toContain('quiet@corp.test');
  });

  it('an inviter deactivated since is told nothing more: their invitations\' expiry goes to the bootstrap admins', async () => {
    const dee = (await h.services.members.create({ email: 'dee@corp.test', role: 'admin', firstName: 'Dee', lastName: 'Parted', slackUserId: 'U0DEE' }, { type: 'system' })).member;
    const [leftBehind] = await h.invite(['left.behind@corp.test'], { type: 'slack', slackUserId: 'U0DEE', memberId: dee.id, name: 'Dee Parted' });
    await eventually(() => h.smtp.to('left.behind@corp.test').length === 1, 10_000, 'the invitation email');
    await h.services.members.deactivate(dee.id, { type: 'system' });
    const before = [ADMIN, ADMIN2].map((user) => h.dms(user).length);
    h.clock.advance(7 * DAY + 60_000);
    await h.sweep();
    const told = await Promise.all([ADMIN, ADMIN2].map((user, i) => h.waitForDms(user, before[i]! + 1)));
    for (const dms of told) expect(textOf(dms.at(-1)!.args)).toContain('left.behind@corp.test');
    await h.settled();
    expect(h.dms('U0DEE')).toEqual([]);
    expect(await listedIn('expired', [leftBehind!])).toEqual({ [leftBehind!]: 2 });
  });

  it('an inviter no longer an admin is told nothing more either (they could act on none of it): the bootstrap admins hear', async () => {
    const ed = (await h.services.members.create({ email: 'ed@corp.test', role: 'admin', firstName: 'Ed', lastName: 'Demoted', slackUserId: 'U0ED' }, { type: 'system' })).member;
    const [demotedOne] = await h.invite(['demoted.one@corp.test', 'demoted.joiner@corp.test'], { type: 'slack', slackUserId: 'U0ED', memberId: ed.id, name: 'Ed Demoted' });
    await eventually(() => h.smtp.to('demoted.one@corp.test').length === 1 && h.smtp.to('demoted.joiner@corp.test').length === 1, 10_000, 'the invitation emails');
    await h.services.members.setRole(ed.id, 'member', { type: 'system' });
    const joined = [ADMIN, ADMIN2].map((user) => h.dms(user).length);
    await h.accept('demoted.joiner@corp.test');
    // One DM a second per recipient: the pace's clock is the test's.
    const noted = await eventually(() => {
      h.clock.advance(1_100);
      const dms = [ADMIN, ADMIN2].map((user, i) => h.dms(user).slice(joined[i]!));
      return dms.every((d) => d.length > 0) ? dms.map((d) => d[0]!) : undefined;
    }, 10_000, 'the acceptance notes to the bootstrap admins');
    for (const dm of noted) expect(dm.args.text).toBe('demoted.joiner@corp.test accepted their invitation and joined as Member');
    const before = [ADMIN, ADMIN2].map((user) => h.dms(user).length);
    h.clock.advance(7 * DAY + 60_000);
    await h.sweep();
    const told = await Promise.all([ADMIN, ADMIN2].map((user, i) => h.waitForDms(user, before[i]! + 1)));
    for (const dms of told) expect(textOf(dms.at(-1)!.args)).toContain('demoted.one@corp.test');
    await h.settled();
    expect(h.dms('U0ED')).toEqual([]);
    expect(await listedIn('expired', [demotedOne!])).toEqual({ [demotedOne!]: 2 });
  });

  it('an inviter deactivated after the expiry notice was queued, while it waited for their pace: the bootstrap admins hear instead', async () => {
    h.api.users.set('U0FLO', { email: 'flo@corp.test', name: 'Flo Late' });
    const flo = (await h.services.members.create({ email: 'flo@corp.test', role: 'admin', firstName: 'Flo', lastName: 'Late', slackUserId: 'U0FLO' }, { type: 'system' })).member;
    const [, lapsed] = await h.invite(['flo.joiner@corp.test', 'flo.lapsed@corp.test'], { type: 'slack', slackUserId: 'U0FLO', memberId: flo.id, name: 'Flo Late' });
    const expiresAt = Number((await h.db.db('invitations').where({ id: lapsed }).first('expires_at')).expires_at);
    await eventually(() => h.smtp.to('flo.lapsed@corp.test').length === 1, 10_000, 'the invitation email');
    h.clock.advance(expiresAt - 500 - h.clock.now());
    await h.accept('flo.joiner@corp.test');
    // The acceptance DM takes this second of Flo's pace: the expiry notice after it waits on the test's clock.
    await h.waitForDms('U0FLO', 1);
    h.clock.advance(600);
    await h.sweep();
    await waitingForPace(h, (n) => n.payload.notice === 'expired' && n.payload.recipient === 'U0FLO');
    await h.services.members.deactivate(flo.id, { type: 'system' });
    const lapsedIn = (user: string) => h.dms(user).filter((dm) => textOf(dm.args).includes('flo.lapsed@corp.test'));
    await h.paced(() => [ADMIN, ADMIN2].every((user) => lapsedIn(user).length > 0), 'the expiry notice passed to the bootstrap admins');
    await h.settled();
    expect([ADMIN, ADMIN2].map((user) => lapsedIn(user).length)).toEqual([1, 1]);
    expect(h.dms('U0FLO')).toHaveLength(1);
  });

  it('a requester demoted after the approval outcome was queued: the bootstrap admins hear in their place, all but the one who decided', async () => {
    h.api.users.set('U0GUS', { email: 'gus@corp.test', name: 'Gus Asked' });
    const gus = (await h.services.members.create({ email: 'gus@corp.test', role: 'admin', firstName: 'Gus', lastName: 'Asked', slackUserId: 'U0GUS' }, { type: 'system' })).member;
    const asGus = { type: 'slack' as const, slackUserId: 'U0GUS', memberId: gus.id, name: 'Gus Asked' };
    await h.invite(['gus.joiner@corp.test'], asGus);
    await h.accept('gus.joiner@corp.test');
    // The acceptance DM takes this second of Gus's pace: the outcome after it waits on the test's clock.
    await h.waitForDms('U0GUS', 1);
    const [held] = (await h.services.invites.inviteMany({ emails: 'gus.admin@corp.test', role: 'admin', actor: asGus })).awaitingApproval!;
    await h.services.invites.approve(held!.invitationId, { type: 'slack', slackUserId: ADMIN, name: 'Bootstrap Boss' });
    // Demoted once the outcome waits for Gus's pace: a try under way could otherwise have found him an
    // admin and then, the clock moved on below, posted to him.
    await waitingForPace(h, (n) => n.payload.notice === 'approval_decided' && n.payload.recipient === 'U0GUS');
    await h.services.members.setRole(gus.id, 'member', { type: 'system' });
    const outcome = (user: string) => h.dms(user).filter((dm) => dm.args.text === 'The invitation to gus.admin@corp.test was approved');
    await h.paced(() => outcome(ADMIN2).length > 0, 'the outcome told to the other bootstrap admin');
    await h.settled();
    await h.settle();
    expect([outcome(ADMIN).length, outcome(ADMIN2).length]).toEqual([0, 1]);
    expect(h.dms('U0GUS')).toHaveLength(1);
  });

  it('a stand-in deactivated in Slack whose member invited before being deactivated: the other stand-in is told once, not again as if it were the inviter\'s own', async () => {
    const mo = (await h.services.members.create({ email: 'mo@corp.test', role: 'admin', firstName: 'Mo', lastName: 'Boss', slackUserId: ADMIN }, { type: 'system' })).member;
    await h.invite(['mo.lapsed@corp.test'], { type: 'member', memberId: mo.id, name: 'Mo Boss' });
    await h.emailed('mo.lapsed@corp.test', 1);
    // Mo leaves Doorman first (the link to ADMIN ends), then ADMIN's Slack account is deactivated.
    await h.services.members.deactivate(mo.id, { type: 'system' });
    h.api.users.set(ADMIN, { email: 'boss@corp.test', name: 'Bootstrap Boss', deleted: true });
    try {
      const lapsedIn = (user: string) => h.dms(user).filter((dm) => textOf(dm.args).includes('mo.lapsed@corp.test'));
      h.clock.advance(7 * DAY + 60_000);
      await h.sweep();
      await h.paced(() => lapsedIn(ADMIN2).length > 0, 'the expiry told to the other bootstrap admin');
      await h.settled();
      await h.settle();
      expect([lapsedIn(ADMIN).length, lapsedIn(ADMIN2).length]).toEqual([0, 1]);
    } finally {
      h.api.users.set(ADMIN, { email: 'boss@corp.test', name: 'Bootstrap Boss' });
    }
  });
});

describe('notices overtaken while they waited for Slack', () => {
  /** Each case in a world of its own, with no worker (the case drains the outbox), stopped whatever happens. */
  const inOwnWorld = async (run: (h: SlackWorld) => Promise<void>) => {
    const h = await SlackWorld.start('sqlite', { runWorker: false });
    try {
      await run(h);
    } finally {
      await h.stop();
    }
  };

  it('a reminder whose invitations were all revoked, and an expiry notice whose invitations were all sent anew, are not posted', async () => {
    await inOwnWorld(async (h) => {
      const [waiting] = await h.invite(['waiting@corp.test'], SLACK_ACTOR);
      h.clock.advance(6 * DAY + HOUR);
      expect((await h.sweep()).reminded).toBe(1);
      await h.services.invites.revoke(waiting!, SLACK_ACTOR);
      const [lapsed] = await h.invite(['lapsed@corp.test'], SLACK_ACTOR);
      h.clock.advance(7 * DAY + HOUR);
      expect((await h.sweep()).expired).toBe(1);
      await h.services.invites.renew(lapsed!, SLACK_ACTOR);
      await h.services.slackOutbox.drain();
      expect(h.dms(MEMBER_ADMIN)).toEqual([]);
      const notices = await h.db.db('outbox').where({ kind: 'slack_notice' }).select('state', 'last_error');
      expect(notices).toHaveLength(2);
      for (const notice of notices) expect(notice).toMatchObject({ state: 'cancelled', last_error: expect.stringContaining('overtaken') });
    });
  });

  it('a reminder some of whose invitations were resent meanwhile (a new expiry) says how many are still due; one all of whose were is not posted', async () => {
    await inOwnWorld(async (h) => {
      const [resent] = await h.invite(['resent@corp.test', 'due@corp.test'], SLACK_ACTOR);
      const [alone] = await h.invite(['alone@corp.test'], { type: 'slack', slackUserId: ADMIN, name: 'Bootstrap Boss' });
      h.clock.advance(6 * DAY + HOUR);
      expect(await h.sweep()).toMatchObject({ reminded: 3, notices: 2 });
      // One resent in the sweep's own millisecond, one a minute on.
      await h.services.invites.resend(alone!, SLACK_ACTOR);
      h.clock.advance(60_000);
      await h.services.invites.resend(resent!, SLACK_ACTOR);
      await h.services.slackOutbox.drain();
      const [dm] = h.dms(MEMBER_ADMIN);
      expect(dm!.args.text).toBe('2 invitations were about to expire');
      expect(textOf(dm!.args)).toContain('*2 invitations were about to expire*; 1 of them is still due to expire.');
      expect(h.dms(ADMIN)).toEqual([]);
      const notices = await h.notices();
      expect(notices.find((n) => n.payload.recipient === ADMIN)).toMatchObject({ state: 'cancelled' });
    });
  });

  it('a reminder passed to the stand-ins (its recipient deactivated in Slack) keeps its moment: what was resent before the copies were queued is not due in them', async () => {
    await inOwnWorld(async (h) => {
      const [resent] = await h.invite(['copy-resent@corp.test', 'copy-due@corp.test'], SLACK_ACTOR);
      h.clock.advance(6 * DAY + HOUR);
      expect(await h.sweep()).toMatchObject({ reminded: 2, notices: 1 });
      h.clock.advance(60_000);
      await h.services.invites.resend(resent!, SLACK_ACTOR);
      h.api.users.set(MEMBER_ADMIN, { email: 'ada@corp.test', name: 'Ada Admin', deleted: true });
      const copy = await eventually(async () => {
        await h.services.slackOutbox.drain();
        return h.dms(ADMIN)[0];
      }, 10_000, "the stand-in's copy");
      expect(textOf(copy.args)).toContain('*2 invitations were about to expire*; 1 of them is still due to expire.');
      expect(h.dms(MEMBER_ADMIN)).toEqual([]);
    });
  });
});

/** Until the notice `which` picks has been tried once and put off for its recipient's pace (no try of it under way). */
async function waitingForPace(h: SlackWorld, which: (notice: QueuedNotice) => boolean): Promise<void> {
  await eventually(async () => (await h.notices()).some((n) => which(n) && n.state === 'pending' && n.attempts >= 1 && /pacing messages/.test(n.last_error ?? '')), 10_000, 'the notice put off for the pace');
}
