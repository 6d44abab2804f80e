import type { WeeklyReportFigures } from '../../report/figures.js';
import { daysAgo, domainProblems, figureLines } from '../../report/format.js';
import { describePeriod } from '../../report/schedule.js';
import { escape, neutralize } from '../text.js';
import { clip, LIMITS, type Block } from './limits.js';
import { mrkdwn, plain } from './format.js';

/**
 * The weekly report as a Slack message: a header, the figures with last week's beside each, the
 * invitations pending longest with their inviters and the domains whose deliveries fail. Every
 * list is capped, so the message stays within Block Kit's limits however large the week.
 */
export function weeklyReportMessage(figures: WeeklyReportFigures): { text: string; blocks: Block[] } {
  const blocks: Block[] = [
    { type: 'header', text: plain('Weekly invitations report', LIMITS.headerText) },
    { type: 'context', elements: [mrkdwn(escape(describePeriod(figures.period)))] },
    {
      type: 'section',
      text: mrkdwn(figureLines(figures).map((l) => `*${l.label}:* ${l.value}  _(last week ${l.previous})_`).join('\n')),
    },
  ];
  if (figures.pending.length) {
    const items = figures.pending.map((p) => {
      const inviter = p.inviter.slackUserId ? `<@${p.inviter.slackUserId}>` : p.inviter.name ? neutralize(clip(p.inviter.name, 60)) : 'unknown';
      return `• ${escape(clip(p.email, 120))}, invited by ${inviter} ${daysAgo(p.invitedAt, figures.period.end)}`;
    });
    const more = figures.week.pendingOverThreeDays - figures.pending.length;
    if (more > 0) items.push(`…and ${more.toLocaleString('en')} more`);
    blocks.push({ type: 'divider' }, { type: 'section', text: mrkdwn(`*Pending for more than 3 days*\n${items.join('\n')}`) });
  }
  if (figures.domains.length) {
    const items = figures.domains.map((d) => `• ${escape(clip(d.domain, 120))}: ${domainProblems(d.refused, d.failing)} _(last week ${d.previous.toLocaleString('en')})_`);
    if (figures.moreDomains > 0) items.push(`…and ${figures.moreDomains.toLocaleString('en')} more domains`);
    blocks.push({ type: 'divider' }, { type: 'section', text: mrkdwn(`*Refused or failing deliveries by domain*\n${items.join('\n')}`) });
  }
  const { sent, accepted } = figures.week;
  return { text: `Weekly invitations report: ${sent.toLocaleString('en')} sent, ${accepted.toLocaleString('en')} accepted`, blocks };
}
