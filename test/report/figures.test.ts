import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weeklyFigures, type WeeklyReportFigures } from '../../src/report/figures.js';
import { latestPeriod, parseSchedule } from '../../src/report/schedule.js';
import { weeklyReportText } from '../../src/report/text.js';
import { limitViolations } from '../../src/slack/blocks/limits.js';
import { weeklyReportMessage } from '../../src/slack/blocks/weekly-report.js';
import { InvitesService } from '../../src/invites/service.js';
import { MembersService } from '../../src/members/service.js';
import type { Actor } from '../../src/shared/actor.js';
import { createTestDatabase, DIALECTS, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { DAY, END, HOUR, PREVIOUS_START, seedHistory, START } from './history.js';

/** The report's figures from a seeded history: every figure and last week's, exactly, on both databases. */
describe.each(DIALECTS)('weekly report figures (%s)', (dialect) => {
  let test: TestDatabase;
  let ids: Record<string, string>;
  let figures: WeeklyReportFigures;

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    ({ ids } = await seedHistory(test.db));
    // Computed three hours after the week ended, after a revoke and a new invitation that must not count.
    figures = await weeklyFigures(test.db, latestPeriod(parseSchedule('mon 09:00')!, 'UTC', END + 3 * HOUR), 7 * DAY);
  });
  afterAll(async () => {
    await test?.destroy();
  });

  it('gives each figure of the week and of the week before, as of each week’s end', () => {
    expect(figures.period).toEqual({ previousStart: PREVIOUS_START, start: START, end: END, timeZone: 'UTC' });
    expect(figures.week).toEqual({
      sent: 9,
      accepted: 4,
      acceptanceRate: 3 / 9,
      medianTimeToAcceptMs: 51 * HOUR,
      pendingOverThreeDays: 6,
      expiredNotRenewed: 2,
      deliveryProblems: 2,
    });
    expect(figures.previousWeek).toEqual({
      sent: 7,
      accepted: 2,
      acceptanceRate: 2 / 7,
      medianTimeToAcceptMs: 13 * HOUR,
      pendingOverThreeDays: 5,
      expiredNotRenewed: 2,
      deliveryProblems: 1,
    });
  });

  it('lists the invitations pending longest with their inviters, and the failing domains', () => {
    const byId = (names: string[]) => names.sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1));
    // In the order their links were emailed: old1 and rn1 by their new invitation after expiry
    // (S+1d, S+3d), pend1 by its first (its resends email the same link).
    const order = ['pend1', 'old1', ...byId(['fail1', 'ref2', 'rev1']), 'rn1'];
    expect(figures.pending.map((p) => p.email.split('@')[0])).toEqual(order);
    expect(figures.pending[1]).toEqual({ email: 'old1@alpha.test', invitedAt: START + DAY, inviter: { slackUserId: null, name: 'Ada Admin' } });
    expect(figures.pending.map((p) => p.invitedAt)).toEqual([PREVIOUS_START + HOUR, START + DAY, START + 2 * DAY, START + 2 * DAY, START + 2 * DAY, START + 3 * DAY]);
    expect(figures.pending.filter((p) => p.email !== 'old1@alpha.test').every((p) => p.inviter.slackUserId === 'U0INVITER' && p.inviter.name === 'Ivy Inviter')).toBe(true);
    expect(figures.domains).toEqual([
      { domain: 'gamma.test', refused: 1, failing: 0, previous: 1 },
      { domain: 'delta.test', refused: 0, failing: 1, previous: 0 },
    ]);
    expect(figures.moreDomains).toBe(0);
  });

  it('draws the same figures as text and as Block Kit within Slack’s limits', () => {
    const text = weeklyReportText(figures);
    expect(text).toContain('Weekly invitations report, Mon 23 Nov 09:00 – Mon 30 Nov 09:00 (UTC)');
    for (const line of [
      'Sent                               9  (last week 7)',
      'Accepted                           4  (last week 2)',
      'Acceptance rate                  33%  (last week 29%)',
      'Median time to accept          2d 3h  (last week 13h)',
      'Pending for more than 3 days       6  (last week 5)',
      'Expired and not renewed            2  (last week 2)',
      'Refused or failing deliveries      2  (last week 1)',
      '  old1@alpha.test, invited by Ada Admin 6 days ago',
      '  gamma.test: 1 refused (last week 1)',
      '  delta.test: 1 failing (last week 0)',
    ]) {
      expect(text.split('\n'), text).toContain(line);
    }
    const message = weeklyReportMessage(figures);
    expect(limitViolations('message', message.blocks)).toEqual([]);
    const shown = JSON.stringify(message.blocks);
    expect(shown).toContain('*Sent:* 9  _(last week 7)_');
    expect(shown).toContain('*Median time to accept:* 2d 3h  _(last week 13h)_');
    expect(shown).toContain('invited by <@U0INVITER>');
    expect(message.text).toBe('Weekly invitations report: 9 sent, 4 accepted');
  });

  it('an empty week says so with dashes, not zero percent', async () => {
    const empty = await weeklyFigures(test.db, { previousStart: END + 30 * DAY, start: END + 37 * DAY, end: END + 44 * DAY, timeZone: 'UTC' }, 7 * DAY);
    expect(empty.week).toEqual({ sent: 0, accepted: 0, acceptanceRate: null, medianTimeToAcceptMs: null, pendingOverThreeDays: 0, expiredNotRenewed: 0, deliveryProblems: 0 });
    expect(weeklyReportText(empty)).toContain('Acceptance rate                —  (last week —)');
  });
});

/** Requests held for approval (the rule "Policy"): an approval sends the link; a request waiting is not pending. */
describe.each(DIALECTS)('weekly report figures with approvals (%s)', (dialect) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await test?.destroy();
  });

  it('counts an approved request as sent when approved, from then, and leaves requests still waiting out of Pending', async () => {
    const clock = new ManualClock(START + HOUR);
    const members = new MembersService(test.db, clock);
    // The asker is a Slack user with no member: a bootstrap admin, the only such inviter.
    const policy = { allowedDomains: [{ domain: 'corp.test', subdomains: false }], dailyLimit: Infinity, unlimitedSlackUserIds: ['U0ASKER'] };
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY, members, policy });
    const asker: Actor = { type: 'slack', slackUserId: 'U0ASKER', name: 'Asker' };
    const [approved, waiting] = await Promise.all(['out1@other.test', 'wait1@other.test'].map(async (email) => (await invites.inviteMany({ emails: email, actor: asker })).awaitingApproval![0]!.invitationId));
    clock.current = START + DAY;
    await invites.approve(approved!, { type: 'slack', slackUserId: 'U0APPROVER', name: 'Approver' });
    clock.current = START + 2 * DAY;
    const { link } = await invites.copyLink(approved!);
    await invites.accept({ token: new URL(link).searchParams.get('token')!, firstName: 'Out', lastName: 'Side', password: 'a long test passphrase' });
    expect((await invites.get(waiting!)).status).toBe('awaiting_approval');

    const figures = await weeklyFigures(test.db, latestPeriod(parseSchedule('mon 09:00')!, 'UTC', END + HOUR), 7 * DAY);
    expect(figures.week).toMatchObject({ sent: 1, accepted: 1, acceptanceRate: 1, medianTimeToAcceptMs: DAY, pendingOverThreeDays: 0, expiredNotRenewed: 0 });
    expect(figures.pending).toEqual([]);
  });

  it('a hold this week does not rewrite last week: an invitation that expired then, sent anew and held now, still counts as it did', async () => {
    const clock = new ManualClock(PREVIOUS_START + HOUR);
    // The asker is a Slack user with no member: a bootstrap admin, the only such inviter.
    const policy = { allowedDomains: [{ domain: 'corp.test', subdomains: false }], dailyLimit: Infinity, unlimitedSlackUserIds: ['U0ASKER'] };
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY, members: new MembersService(test.db, clock), policy });
    // The operator is never held: sent at once, for a day, and left to expire during last week.
    const id = (await invites.inviteMany({ emails: 'lapsed-link@other.test', actor: { type: 'system', name: 'cli' }, expiresInDays: 1 })).invitationIds[0]!;
    const asReported = await weeklyFigures(test.db, latestPeriod(parseSchedule('mon 09:00')!, 'UTC', START + HOUR), 7 * DAY);
    clock.current = START + DAY;
    expect((await invites.renew(id, { type: 'slack', slackUserId: 'U0ASKER', name: 'Asker' })).status).toBe('awaiting_approval');
    const later = await weeklyFigures(test.db, latestPeriod(parseSchedule('mon 09:00')!, 'UTC', END + HOUR), 7 * DAY);
    expect(asReported.week.expiredNotRenewed).toBe(1);
    expect(later.previousWeek).toEqual(asReported.week);
  });

  it('an invitation sent anew after it expired waits from then: not pending for more than 3 days a day later', async () => {
    const clock = new ManualClock(PREVIOUS_START - 30 * DAY);
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY, members: new MembersService(test.db, clock) });
    const operator: Actor = { type: 'system', name: 'cli' };
    const id = (await invites.inviteMany({ emails: 'renewed@corp.test', actor: operator, expiresInDays: 14 })).invitationIds[0]!;
    clock.current = END - DAY;
    await invites.renew(id, operator);
    const figures = await weeklyFigures(test.db, latestPeriod(parseSchedule('mon 09:00')!, 'UTC', END + HOUR), 7 * DAY);
    expect(figures.week.pendingOverThreeDays).toBe(0);
    expect(figures.pending).toEqual([]);
    // Three more days on, it has waited long enough.
    clock.current = END + 7 * DAY + HOUR;
    const next = await weeklyFigures(test.db, latestPeriod(parseSchedule('mon 09:00')!, 'UTC', clock.now()), 7 * DAY);
    expect(next.week.pendingOverThreeDays).toBe(1);
    expect(next.pending.map((p) => [p.email, p.invitedAt])).toEqual([['renewed@corp.test', END - DAY]]);
  });
});
