import { describe, expect, it } from 'vitest';
import type { WeeklyReportFigures } from '../../src/report/figures.js';
import { weeklyReportText } from '../../src/report/text.js';
import { limitViolations } from '../../src/slack/blocks/limits.js';
import { weeklyReportMessage } from '../../src/slack/blocks/weekly-report.js';

const DAY = 86_400_000;
const END = Date.UTC(2026, 10, 30, 9);

function largeWeek(): WeeklyReportFigures {
  const week = { sent: 123_456, accepted: 65_432, acceptanceRate: 0.5, medianTimeToAcceptMs: 3 * DAY + 5 * 3_600_000, pendingOverThreeDays: 4_321, expiredNotRenewed: 99, deliveryProblems: 5_000 };
  return {
    period: { previousStart: END - 14 * DAY, start: END - 7 * DAY, end: END, timeZone: 'Europe/Berlin' },
    week,
    previousWeek: { ...week, sent: 100_000, acceptanceRate: null, medianTimeToAcceptMs: null },
    // Addresses and names at their longest, with what Slack would read as formatting or mentions.
    pending: Array.from({ length: 10 }, (_, i) => ({
      email: `${'x'.repeat(300)}${i}@example.com`,
      invitedAt: END - (10 + i) * DAY,
      inviter: i % 2 ? { slackUserId: `U0INV${i}`, name: 'Slack person' } : { slackUserId: null, name: `*bold* <!channel> _${'n'.repeat(200)}_` },
    })),
    domains: Array.from({ length: 10 }, (_, i) => ({ domain: `${'d'.repeat(250)}${i}.example`, refused: 400 + i, failing: 100, previous: 7 })),
    moreDomains: 40,
  };
}

describe('the weekly report’s Block Kit', () => {
  it('stays within Slack’s limits on the largest input, with capped lists saying how many more', () => {
    const message = weeklyReportMessage(largeWeek());
    expect(limitViolations('message', message.blocks)).toEqual([]);
    const shown = JSON.stringify(message.blocks);
    expect(shown).toContain('…and 4,311 more');
    expect(shown).toContain('…and 40 more domains');
    expect(shown).not.toContain('<!channel>');
    expect(shown).toContain('*Sent:* 123,456  _(last week 100,000)_');
    expect(shown).toContain('*Acceptance rate:* 50%  _(last week —)_');
    expect(shown).toContain('*Median time to accept:* 3d 5h  _(last week —)_');
  });

  it('an ordinary week, as a snapshot', () => {
    const figures: WeeklyReportFigures = {
      period: { previousStart: END - 14 * DAY, start: END - 7 * DAY, end: END, timeZone: 'UTC' },
      week: { sent: 42, accepted: 20, acceptanceRate: 0.4, medianTimeToAcceptMs: 26 * 3_600_000, pendingOverThreeDays: 2, expiredNotRenewed: 1, deliveryProblems: 1 },
      previousWeek: { sent: 30, accepted: 18, acceptanceRate: 0.5, medianTimeToAcceptMs: 90 * 60_000, pendingOverThreeDays: 3, expiredNotRenewed: 0, deliveryProblems: 0 },
      pending: [
        { email: 'jane@example.com', invitedAt: END - 5 * DAY, inviter: { slackUserId: 'U0ADA', name: 'Ada' } },
        { email: 'joe@example.org', invitedAt: END - 4 * DAY, inviter: { slackUserId: null, name: 'Ops Bot' } },
      ],
      domains: [{ domain: 'example.net', refused: 1, failing: 0, previous: 0 }],
      moreDomains: 0,
    };
    expect(weeklyReportMessage(figures)).toMatchSnapshot();
    expect(weeklyReportText(figures)).toMatchSnapshot();
  });
});
