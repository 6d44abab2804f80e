import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvitesService } from '../../src/invites/service.js';
import { DIALECTS, TEST_SECRET } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, MEMBER_ADMIN, SlackWorld, pause, PLAIN, SLACK_ACTOR, SYSTEM_ACTOR } from '../support/slack-world.js';
import type { ApiCall } from '../support/slack-api.js';
import { buttonFor, eventually, textOf } from '../support/slack-world.js';

/**
 * The acceptance note (with the new member's role one select away) and the
 * audit channel, on the real app against the Slack stand-in.
 */
describe.each(DIALECTS)('acceptance notes and the audit channel (%s)', (dialect) => {
  let h: SlackWorld;
  const PASSWORD = 'correct horse battery staple';
  const adminActor = { type: 'slack' as const, slackUserId: ADMIN, name: 'Bootstrap Boss' };
  const auditLines = () => h.api.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0AUDIT').flatMap((c) => String(c.args.text).split('\n'));
  let joinerId = '';
  let joinerMemberId = '';
  let note: ApiCall;

  beforeAll(async () => {
    h = await SlackWorld.start(dialect, {
      env: { AUDIT_CHANNEL: 'C0AUDIT' },
      channels: ['C0AUDIT'],
      // History from before Doorman first ran with the audit channel: never posted.
      beforeStart: async (db, clock) => {
        const invites = new InvitesService(db.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY });
        await invites.inviteMany({ emails: 'old1@corp.test, old2@corp.test, old3@corp.test', actor: SYSTEM_ACTOR });
      },
    });
    await eventually(async () => (await h.db.db('job_cursors').where({ name: 'audit_channel' }).first()) as unknown, 10_000, 'the audit channel cursor');
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('accepting (admin API) tells the inviter who joined and as what, with a role select', async () => {
    joinerId = (await h.invite(['joiner@corp.test'], SLACK_ACTOR))[0]!;
    // Sent first: a resend while the email still waits only hurries it.
    await h.emailed('joiner@corp.test', 1);
    await h.services.invites.resend(joinerId, adminActor);
    await eventually(() => h.smtp.to('joiner@corp.test').length === 2, 10_000, 'the invitation emails');
    const token = h.smtp.to('joiner@corp.test')[1]!.token;
    const response = await fetch(`${h.app.url}/admin/invites/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, user: { first_name: 'Jo', last_name: 'Iner', password: PASSWORD } }),
    });
    expect(response.status).toBe(200);
    joinerMemberId = (await h.services.members.findByEmail('joiner@corp.test'))!.id;
    [note] = (await h.waitForDms(MEMBER_ADMIN, 1)) as [ApiCall];
    expect(note.args.text).toBe('joiner@corp.test accepted their invitation and joined as Member');
    expect(textOf(note.args)).toContain('Jo Iner (joiner@corp.test) accepted their invitation and joined as *Member*');
    const select = buttonFor(note.args.blocks, 'member_role');
    expect(select.type).toBe('static_select');
    expect(select.initial_option.text.text).toBe('Member');
    expect(select.options.map((o: { text: { text: string } }) => o.text.text)).toEqual(['Admin', 'Member', 'Developer']);
    await pause(300);
    expect(h.dms()).toHaveLength(1); // nobody else
  });

  it('changes the new member\'s role from the note; a plain member is refused and nothing changes', async () => {
    const select = buttonFor(note.args.blocks, 'member_role');
    const option = (label: string) => select.options.find((o: { text: { text: string } }) => o.text.text === label);
    const refused = await h.clickDm(note, { type: 'static_select', action_id: select.action_id, selected_option: option('Admin') }, { user: PLAIN });
    expect((await h.api.response(refused.responseId)).body.text).toContain('Member: Manage');
    await pause(200);
    expect((await h.services.members.get(joinerMemberId)).role).toBe('member');

    const click = await h.clickDm(note, { type: 'static_select', action_id: select.action_id, selected_option: option('Developer') }, { user: MEMBER_ADMIN });
    const reply = (await h.api.response(click.responseId)).body;
    expect(reply.replace_original).toBe(true);
    expect(textOf(reply)).toContain('*Jo Iner* is now Developer');
    // The note itself is redrawn (not replaced by /members), its select now on the new role.
    expect(textOf(reply)).toContain('accepted their invitation and joined as *Developer*');
    expect(buttonFor(reply.blocks, 'member_role').initial_option.text.text).toBe('Developer');
    expect((await h.services.members.get(joinerMemberId)).role).toBe('developer');
    const audit = await h.db.db('audit_log').where({ action: 'role_change', subject_id: joinerMemberId });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_type: 'slack', actor_id: MEMBER_ADMIN });
  });

  it('tells every bootstrap admin when the inviter had no Slack user (invites.accept)', async () => {
    const [id] = await h.services.invites.inviteMany({ emails: 'sysjoin@corp.test', role: 'developer', actor: SYSTEM_ACTOR }).then((s) => s.invitationIds);
    await h.accept('sysjoin@corp.test', { firstName: 'Sys', lastName: 'Join' }, PASSWORD);
    const [a, b] = await Promise.all([h.waitForDms(ADMIN, 1), h.waitForDms(ADMIN2, 1)]);
    for (const dm of [a[0]!, b[0]!]) expect(dm.args.text).toBe('sysjoin@corp.test accepted their invitation and joined as Developer');
    expect((await h.services.invites.get(id!)).status).toBe('accepted');
    // Accepted, so never announced as expired.
    h.clock.advance(8 * DAY);
    await h.sweep();
    const notices = await h.notices();
    expect(notices.filter((n) => n.payload.notice === 'expired' && n.payload.invitationIds.includes(id!))).toEqual([]);
  });

  it('posts invite, resend, new invitation, revoke, accept and role change to AUDIT_CHANNEL, one line each with who did it, and no history', async () => {
    const [renew] = await h.invite(['renew@corp.test'], SYSTEM_ACTOR);
    h.clock.advance(8 * DAY);
    await h.services.invites.renew(renew!, SYSTEM_ACTOR);
    await h.services.invites.revoke(renew!, adminActor);
    const expected = [
      // Named, with their id, not mentioned: a mention would notify each admin of their own changes.
      `*Ada Admin* (${MEMBER_ADMIN}) invited joiner@corp.test as member`,
      `*Bootstrap Boss* (${ADMIN}) resent the invitation to joiner@corp.test`,
      `*Jo Iner* (${joinerMemberId}) accepted the invitation for joiner@corp.test`,
      `*Ada Admin* (${MEMBER_ADMIN}) changed the role of member ${joinerMemberId} (member → developer)`,
      'operator (cli:test) invited sysjoin@corp.test as developer',
      'operator (cli:test) invited renew@corp.test as member',
      'operator (cli:test) sent a new invitation to renew@corp.test',
      `*Bootstrap Boss* (${ADMIN}) revoked the invitation to renew@corp.test`,
    ];
    await eventually(() => expected.every((line) => auditLines().includes(line)), 15_000, `the audit lines; so far:\n${auditLines().join('\n')}`);
    await pause(2_500);
    const lines = auditLines();
    for (const line of expected) expect(lines.filter((l) => l === line), line).toHaveLength(1);
    expect(lines.join('\n')).not.toMatch(/old[123]@corp\.test/);
    // In the order they happened, each line once.
    expect(new Set(lines).size).toBe(lines.length);
    const posts = h.api.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0AUDIT');
    for (const post of posts) expect(post.args.unfurl_links).toBe(false);
    expect(lines.indexOf(expected[0]!)).toBeLessThan(lines.indexOf(expected[7]!));
  });
});

describe('an audit channel the bot cannot post in', () => {
  it.each([
    ['a public channel the bot is not in', 'C0AUDIT', false, 'not_in_channel', /the bot is not in C0AUDIT; add it there \(in the channel: \/invite @Doorman\)/],
    ['a private channel the bot cannot see', 'C0PRIVAUD', true, 'channel_not_found', /Slack knows no channel C0PRIVAUD the bot can see; check the id, or add the bot to it if it is private/],
  ])('%s: logs one clear warning saying how to mend it, keeps the lines, and posts them once the bot is added', async (_what, channel, isPrivate, refused, words) => {
    // The channel is there before the app starts: the world's seed members are audit lines its feed may post at once.
    const h = await SlackWorld.start('sqlite', { env: { AUDIT_CHANNEL: channel }, logLevel: 'warn', beforeStart: async (_db, _clock, api) => void api.addChannel(channel, { private: isPrivate }) });
    try {
      await eventually(async () => (await h.db.db('job_cursors').where({ name: 'audit_channel' }).first()) as unknown, 10_000, 'the audit channel cursor');
      await h.invite(['audited@corp.test'], SLACK_ACTOR);
      await eventually(() => h.api.calls.some((c) => c.method === 'chat.postMessage' && c.error === refused), 10_000, 'a refused post');
      await h.invite(['audited2@corp.test'], SLACK_ACTOR);
      await pause(2_500);
      const warnings = h.log.entries().filter((e) => String(e.msg).startsWith('AUDIT_CHANNEL'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(words);
      h.api.joinChannel(channel, { private: isPrivate });
      // The feed waits longer after each refusal (on the app's clock).
      h.clock.advance(15 * 60_000);
      const posted = await eventually(() => h.api.callsTo('chat.postMessage').find((c) => c.args.channel === channel), 30_000, 'the audit lines');
      expect(String(posted.args.text)).toContain('audited@corp.test');
      expect(h.api.rejected(refused)).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 45_000);
});

describe('an audit channel Slack answers 429 for', () => {
  it('waits as long as Slack asked (Retry-After), not the feed\'s own 2 s, then posts the lines once', async () => {
    const h = await SlackWorld.start('sqlite', { env: { AUDIT_CHANNEL: 'C0AUDIT' }, channels: ['C0AUDIT'], logLevel: 'error' });
    try {
      await eventually(async () => (await h.db.db('job_cursors').where({ name: 'audit_channel' }).first()) as unknown, 10_000, 'the audit channel cursor');
      h.api.fail('chat.postMessage', 429, { retryAfter: 30, times: 1 });
      await h.invite(['limited@corp.test'], SLACK_ACTOR);
      await eventually(() => h.api.calls.some((c) => c.method === 'chat.postMessage' && c.error === 'ratelimited'), 10_000, 'the 429');
      // Held past the post's own lease (now + 60 s while it posts), once the 429 is recorded.
      const cursor = await eventually(async () => {
        const row = (await h.db.db('job_cursors').where({ name: 'audit_channel' }).first()) as { locked_until: number | null } | undefined;
        const until = row?.locked_until ? Number(row.locked_until) : undefined;
        return until !== undefined && until !== h.clock.now() + 60_000 ? until : undefined;
      }, 10_000, 'the held cursor');
      expect(cursor - h.clock.now()).toBe(30_000);
      h.clock.advance(30_001);
      const posted = await eventually(() => h.api.callsTo('chat.postMessage').find((c) => c.args.channel === 'C0AUDIT' && String(c.args.text).includes('limited@corp.test')), 15_000, 'the audit line');
      expect(posted).toBeDefined();
    } finally {
      await h.stop();
    }
  }, 45_000);
});

describe('a stop while the audit channel has a backlog', () => {
  it('ends after the message under way, and the rest is posted after the restart, each line once', async () => {
    const h = await SlackWorld.start('sqlite', { env: { AUDIT_CHANNEL: 'C0AUDIT' }, channels: ['C0AUDIT'] });
    try {
      await eventually(async () => (await h.db.db('job_cursors').where({ name: 'audit_channel' }).first()) as unknown, 10_000, 'the audit channel cursor');
      // 200 lines: ten messages, about one a second.
      await h.invite(Array.from({ length: 200 }, (_, i) => `backlog${i}@corp.test`), SYSTEM_ACTOR);
      const lines = () => h.api.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0AUDIT').flatMap((c) => String(c.args.text).match(/backlog\d+@corp\.test/g) ?? []);
      await eventually(() => lines().length > 0, 10_000, 'the first audit message');
      const stopping = Date.now();
      let stoppedAfterMs = 0;
      let postedAtStop = 0;
      await h.restart({
        whileStopped: () => {
          stoppedAfterMs = Date.now() - stopping;
          postedAtStop = lines().length;
        },
      });
      expect(stoppedAfterMs).toBeLessThan(3_000);
      expect(postedAtStop).toBeLessThan(200);
      await eventually(() => lines().length >= 200, 30_000, 'the rest of the backlog');
      await pause(1_500);
      expect(new Set(lines()).size).toBe(200);
      expect(lines()).toHaveLength(200);
      expect(h.api.rejected()).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 60_000);
});
