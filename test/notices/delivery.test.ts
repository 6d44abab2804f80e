import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, deliveredByNotice, deliveredCounts, HOUR, LINKED, MEMBER_ADMIN, SlackWorld, pause, SLACK_ACTOR, SYSTEM_ACTOR } from '../support/slack-world.js';
import { eventually } from '../support/slack-world.js';

/**
 * Notices go through the outbox — Slack's 429 (Retry-After) and 5xx are retried,
 * each DM arrives once, no channel gets more than about one message a second, a restart loses
 * nothing, and an error retrying cannot fix drops the item instead of retrying forever.
 */

describe.each(DIALECTS)('delivering notices (%s)', (dialect) => {
  let h: SlackWorld;
  const postAttempts = () => h.api.calls.filter((c) => c.method === 'chat.postMessage' && /^U/.test(String(c.args.channel)));

  beforeAll(async () => {
    h = await SlackWorld.start(dialect, { refusalProxy: true });
  });
  afterAll(async () => {
    // users.info about U0GONE, a Slack user who does not exist, on purpose.
    expect(h.api.rejected('user_not_found')).toEqual([]);
    await h.stop();
  });

  /** Invitations whose expiry notices go to MEMBER_ADMIN, ADMIN, ADMIN2 and LINKED; returns after they expired. */
  const expireForEveryone = async (tag: string, waitForMail = true) => {
    const before = h.smtp.received.length;
    await h.invite([`${tag}-s@corp.test`], SLACK_ACTOR);
    await h.invite([`${tag}-c@corp.test`], SYSTEM_ACTOR);
    await h.invite([`${tag}-l@corp.test`], { type: 'member', memberId: h.ids.linked });
    if (waitForMail) await h.smtp.waitFor(before + 3);
    h.clock.advance(7 * DAY + 1);
  };
  const recipients = [MEMBER_ADMIN, ADMIN, ADMIN2, LINKED];

  it('429 (Retry-After honoured), then 500, then OK: each DM delivered exactly once', async () => {
    h.api.fail('chat.postMessage', 429, { retryAfter: 3, times: 4 });
    h.api.fail('chat.postMessage', 500, { times: 4 });
    await expireForEveryone('flaky');
    const swept = h.clock.now();
    await h.sweep();
    // The first try of each meets a 429 and waits out Retry-After (3 s) in the outbox.
    await eventually(async () => (await h.notices()).filter((n) => n.attempts === 1 && n.last_error).length === 4, 8_000, 'four rate-limited notices');
    // Each met a 429, or asked after one and was held until its Retry-After (the lanes run at once).
    const first = await h.notices();
    for (const n of first) {
      expect(n.state).toBe('pending');
      expect(n.last_error).toMatch(/rate limited|429/);
    }
    expect(first.filter((n) => /rate limited \(429\)/.test(n.last_error ?? '')).length).toBeGreaterThanOrEqual(1);
    expect(first.map((n) => n.next_attempt_at)).toEqual([swept + 3_000, swept + 3_000, swept + 3_000, swept + 3_000]);
    await pause(400);
    // Nobody retried early; a note held by the 429 was not posted at all.
    const firstRound = postAttempts().length;
    expect(firstRound).toBeGreaterThanOrEqual(1);
    expect(firstRound).toBeLessThanOrEqual(4);
    expect(postAttempts().every((c) => !c.ok && c.error === 'ratelimited')).toBe(true);
    h.clock.advance(2_999);
    await pause(300);
    expect(postAttempts()).toHaveLength(firstRound);

    // Then 500s (backoff), then OK.
    for (let i = 0; i < 40 && h.dms().length < 4; i++) {
      h.clock.advance(3_000);
      await pause(150);
    }
    await h.settled();
    await pause(300);
    expect(postAttempts().filter((c) => !c.ok).map((c) => c.error)).toEqual([...Array(4).fill('ratelimited'), ...Array(4).fill('internal_error')]);
    expect([...deliveredCounts(h.dms()).values()]).toEqual([1, 1, 1, 1]);
    expect([...deliveredByNotice(h.dms()).values()]).toEqual([1, 1, 1, 1]);
    expect(h.dms().map((c) => c.args.channel).sort()).toEqual([...recipients].sort());
    for (const n of await h.notices()) {
      expect(n.state).toBe('done');
      expect(n.attempts).toBeGreaterThanOrEqual(2);
    }
  });

  it('posts at most about one message a second to a recipient, without holding up the others', async () => {
    // One sweep finds one invitation expired and another inside its reminder window, both from the
    // same inviter: two DMs for one recipient, and one each for the bootstrap admins.
    const start = h.dms().length;
    await h.invite(['pace-a@corp.test'], SLACK_ACTOR);
    await h.invite(['pace-c@corp.test'], SYSTEM_ACTOR);
    h.clock.advance(12 * HOUR);
    await h.invite(['pace-b@corp.test'], SLACK_ACTOR);
    await eventually(() => ['pace-a', 'pace-b', 'pace-c'].every((p) => h.smtp.to(`${p}@corp.test`).length === 1), 10_000, 'the emails');
    h.clock.advance(7 * DAY - 12 * HOUR + 1); // a and c expired; b expires in 12 hours
    await h.sweep();
    await h.waitForDms(ADMIN, 2);
    await h.waitForDms(ADMIN2, 2);
    await h.waitForDms(MEMBER_ADMIN, 2);
    await pause(500);
    // The clock stands still: the second DM to MEMBER_ADMIN waits for its slot.
    expect(h.dms(MEMBER_ADMIN)).toHaveLength(2);
    const notices = (await h.notices()).filter((n) => n.payload.recipient === MEMBER_ADMIN && n.state === 'pending');
    expect(notices).toHaveLength(1);
    h.clock.advance(999);
    await pause(400);
    expect(h.dms(MEMBER_ADMIN)).toHaveLength(2);
    h.clock.advance(1);
    const dms = await h.waitForDms(MEMBER_ADMIN, 3);
    expect(dms.slice(1).map((d) => d.args.text).sort()).toEqual(['1 invitation expired', '1 invitation will expire soon']);
    expect(h.dms().length - start).toBe(4);
  });

  it('loses nothing across a restart: queued and failing notices are delivered once by the next instance', async () => {
    const start = h.dms().length;
    // Queued with no worker running.
    await h.restart({ runWorker: false });
    await expireForEveryone('restart1', false);
    await h.sweep();
    expect((await h.notices()).filter((n) => n.state === 'pending')).toHaveLength(4);
    await h.restart({ runWorker: true });
    await h.settled();
    // Failing when the instance stops: each tried once, Slack answered 500.
    h.clock.advance(2_000);
    h.api.fail('chat.postMessage', 500, { times: 4 });
    await expireForEveryone('restart2');
    await h.sweep();
    await eventually(async () => (await h.notices()).filter((n) => n.state === 'pending' && n.attempts === 1 && n.last_error).length === 4, 8_000, 'four failing notices');
    await h.restart();
    for (let i = 0; i < 20 && (await h.notices()).some((n) => n.state === 'pending'); i++) {
      h.clock.advance(5_000);
      await pause(150);
    }
    await h.settled();
    await pause(300);
    // Two sweeps, four recipients each: eight DMs, every notice delivered exactly once.
    expect(h.dms().length - start).toBe(8);
    const delivered = deliveredByNotice(h.dms());
    for (const [id, n] of delivered) expect(n, `notice ${id}`).toBe(1);
    const all = await h.notices();
    expect(all.every((n) => n.state === 'done')).toBe(true);
    expect(all.every((n) => delivered.get(n.id) === 1)).toBe(true);
  });

  it('a DM Slack refuses for good (channel_not_found: no such user) is not retried forever: the stand-ins hear in its place', async () => {
    h.proxy!.refuse('U0GONE', 'channel_not_found');
    const gone = { type: 'slack' as const, slackUserId: 'U0GONE', name: 'Gone' };
    await h.invite(['orphan@corp.test'], gone);
    await h.invite(['kept@corp.test'], SLACK_ACTOR);
    await eventually(() => h.smtp.to('orphan@corp.test').length === 1 && h.smtp.to('kept@corp.test').length === 1, 10_000, 'the emails');
    h.clock.advance(7 * DAY + 1);
    const adaBefore = h.dms(MEMBER_ADMIN).length;
    const bossesBefore = [ADMIN, ADMIN2].map((user) => h.dms(user).length);
    await h.sweep();
    await h.settled();
    const notice = (await h.notices()).find((n) => n.payload.recipient === 'U0GONE')!;
    expect(notice).toMatchObject({ state: 'cancelled', attempts: 1 });
    expect(notice.last_error).toContain('channel_not_found');
    expect(notice.last_error).toContain('queued for 2 admin(s) instead');
    // The bootstrap admins hear of the expiry in the unreachable inviter's place.
    for (const [i, user] of [ADMIN, ADMIN2].entries()) {
      const dms = await h.waitForDms(user, bossesBefore[i]! + 1);
      expect(dms.slice(bossesBefore[i]!).some((dm) => JSON.stringify(dm.args).includes('orphan@corp.test'))).toBe(true);
    }
    for (let i = 0; i < 5; i++) {
      h.clock.advance(HOUR);
      await pause(120);
    }
    expect(h.proxy!.refused).toHaveLength(1);
    // The others are unaffected.
    await h.waitForDms(MEMBER_ADMIN, adaBefore + 1);
  });

  // Last, these two: the acceptance notes they send carry no notice id, which deliveredByNotice (above) reads.
  it('after a 429 every other DM waits out its Retry-After instead of meeting a 429 of its own', async () => {
    const attemptsBefore = postAttempts().length;
    const dmsBefore = [MEMBER_ADMIN, ADMIN, ADMIN2].map((user) => h.dms(user).length);
    /** The acceptance notes of an invitation. */
    const notesOf = async (invitationId: string) => (await h.notices()).filter((n) => n.payload.notice === 'accepted' && n.payload.invitationId === invitationId);
    h.api.fail('chat.postMessage', 429, { retryAfter: 3, times: 1 });
    // An acceptance note to MEMBER_ADMIN meets the 429...
    const first = `${h.next('held')}@corp.test`;
    const [firstId] = await h.invite([first], SLACK_ACTOR);
    const limitedAt = h.clock.now();
    await h.accept(first);
    await eventually(async () => (await notesOf(firstId!)).some((n) => n.attempts === 1 && /rate limited/.test(n.last_error ?? '')), 8_000, 'the rate-limited note');
    // ...then two more, to the bootstrap admins (other channels), are queued while it holds.
    const later = `${h.next('later')}@corp.test`;
    const [laterId] = await h.invite([later], SYSTEM_ACTOR);
    await h.accept(later);
    await eventually(async () => (await notesOf(laterId!)).filter((n) => n.attempts === 1 && n.last_error).length === 2, 8_000, 'the held notes');
    await pause(400);
    expect(postAttempts().slice(attemptsBefore).map((c) => [c.args.channel, c.ok ? 'ok' : c.error])).toEqual([[MEMBER_ADMIN, 'ratelimited']]);
    for (const n of await notesOf(laterId!)) expect([n.last_error, n.next_attempt_at]).toEqual(['waiting out a 429 from Slack (Retry-After)', limitedAt + 3_000]);
    // Once it has passed, all three go out, once each, with no 429 more.
    h.clock.advance(3_000);
    await Promise.all([MEMBER_ADMIN, ADMIN, ADMIN2].map((user, i) => h.waitForDms(user, dmsBefore[i]! + 1)));
    await h.settled();
    const sent = postAttempts().slice(attemptsBefore);
    expect(sent.filter((c) => !c.ok).map((c) => c.error)).toEqual(['ratelimited']);
    expect(sent.filter((c) => c.ok).map((c) => c.args.channel).sort()).toEqual([ADMIN, ADMIN2, MEMBER_ADMIN].sort());
    for (const n of [...(await notesOf(firstId!)), ...(await notesOf(laterId!))]) expect([n.state, n.attempts]).toEqual(['done', 2]);
    h.clock.advance(1_000); // the channels free again for the next test
  });

  it('a backlog of notices for one recipient goes out one a second, each tried at most twice', async () => {
    // Four acceptances at once of invitations with no Slack inviter: four notes to each bootstrap admin.
    const emails = [1, 2, 3, 4].map(() => `${h.next('burst')}@corp.test`);
    const ids = await h.invite(emails, SYSTEM_ACTOR);
    await eventually(() => emails.every((email) => h.smtp.to(email).length === 1), 10_000, 'the emails');
    const before = h.dms(ADMIN).length;
    const before2 = h.dms(ADMIN2).length;
    for (const email of emails) await h.accept(email, { firstName: 'Bur', lastName: 'St' });
    await Promise.all([h.waitForDms(ADMIN, before + 1), h.waitForDms(ADMIN2, before2 + 1)]);
    await pause(400);
    // The clock stands still: the others wait for their slots, and each slot's message goes when
    // the clock reaches it (not later, so that none is held back behind a late one).
    expect(h.dms(ADMIN)).toHaveLength(before + 1);
    for (let sent = 2; sent <= 4; sent++) {
      h.clock.advance(1_000);
      await Promise.all([h.waitForDms(ADMIN, before + sent), h.waitForDms(ADMIN2, before2 + sent)]);
    }
    await h.settled();
    const burst = (await h.notices()).filter((n) => n.payload.notice === 'accepted' && ids.includes(n.payload.invitationId));
    expect(burst.map((n) => [n.payload.recipient, n.state]).sort()).toEqual([...Array(4).fill([ADMIN, 'done']), ...Array(4).fill([ADMIN2, 'done'])]);
    // Each waited once, for a slot of its own (told "in a second", the last would have come back
    // and waited again every second: 4 tries).
    expect(Math.max(...burst.map((n) => n.attempts))).toBe(2);
    expect(h.dms(ADMIN).slice(before).map((dm) => dm.args.text).sort()).toEqual(emails.map((email) => `${email} accepted their invitation and joined as Member`).sort());
  });

});

describe('Slack refusing the app\'s token (revoked, or the app deactivated)', () => {
  it('holds every notice (one try now and then, one error logged) instead of trying each in turn, and delivers them all once Slack takes it again', async () => {
    const h = await SlackWorld.start('sqlite', { logLevel: 'warn' });
    try {
      h.api.refuse('chat.postMessage', 'token_revoked', { times: 2 });
      const emails = [1, 2, 3].map(() => `${h.next('held')}@corp.test`);
      await h.invite(emails, SYSTEM_ACTOR);
      await eventually(() => emails.every((email) => h.smtp.to(email).length === 1), 10_000, 'the emails');
      h.clock.advance(7 * DAY + 1);
      await h.sweep();
      // Expiry DMs to both bootstrap admins: both lanes of the first try meet the refusal.
      const refused = () => h.api.calls.filter((c) => c.method === 'chat.postMessage' && c.error === 'token_revoked');
      await eventually(() => refused().length === 2, 10_000, 'the first refusals');
      // Past an item's own backoff (2 s) but within the hold (a minute): nothing is tried.
      h.clock.advance(10_000);
      await pause(2_500);
      expect(refused()).toHaveLength(2);
      expect(h.api.callsTo('chat.postMessage')).toHaveLength(0);
      h.clock.advance(51_000);
      await eventually(() => h.dms(ADMIN).length >= 1 && h.dms(ADMIN2).length >= 1, 10_000, 'the expiry DMs');
      await h.settled();
      expect((await h.notices()).map((n) => n.state)).toEqual(['done', 'done']);
      const errors = h.log.entries().filter((e) => /Slack refuses Doorman's token/.test(String(e.msg)));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toMatch(/token_revoked.*check SLACK_BOT_TOKEN/);
      expect(h.log.entries().filter((e) => /delivery failed; will retry/.test(String(e.msg)))).toEqual([]);
      expect(h.api.rejected()).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 45_000);
});
