import type { WeeklyReportFigures } from './figures.js';
import { daysAgo, domainProblems, figureLines } from './format.js';
import { describePeriod } from './schedule.js';

/** The weekly report as plain text for the terminal (`doorman report --week`). */
export function weeklyReportText(figures: WeeklyReportFigures): string {
  const lines = [`Weekly invitations report, ${describePeriod(figures.period)}`, ''];
  const rows = figureLines(figures);
  const width = Math.max(...rows.map((r) => r.label.length));
  const valueWidth = Math.max(...rows.map((r) => r.value.length));
  for (const row of rows) lines.push(`${row.label.padEnd(width)}  ${row.value.padStart(valueWidth)}  (last week ${row.previous})`);

  if (figures.pending.length) {
    lines.push('', 'Pending for more than 3 days:');
    for (const p of figures.pending) {
      const inviter = p.inviter.name ?? (p.inviter.slackUserId ? `Slack user ${p.inviter.slackUserId}` : 'unknown');
      lines.push(`  ${safe(p.email)}, invited by ${safe(inviter)} ${daysAgo(p.invitedAt, figures.period.end)}`);
    }
    const more = figures.week.pendingOverThreeDays - figures.pending.length;
    if (more > 0) lines.push(`  …and ${more.toLocaleString('en')} more`);
  }
  if (figures.domains.length) {
    lines.push('', 'Refused or failing deliveries by domain:');
    for (const d of figures.domains) lines.push(`  ${safe(d.domain)}: ${domainProblems(d.refused, d.failing)} (last week ${d.previous.toLocaleString('en')})`);
    if (figures.moreDomains > 0) lines.push(`  …and ${figures.moreDomains.toLocaleString('en')} more domains`);
  }
  return lines.join('\n') + '\n';
}

/** Names and addresses come from users: control characters never reach the terminal. */
function safe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
