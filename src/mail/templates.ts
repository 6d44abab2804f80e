import { ROLE_LABELS, type Role } from '../members/roles.js';
import { UNIT_MS } from '../shared/clock.js';

export interface InvitationEmailData {
  orgName: string;
  inviterName: string | null;
  email: string;
  role: Role;
  link: string;
  expiresAt: number;
  now: number;
  reason: 'invite' | 'resend' | 'renew';
  /** The inviter's personal message, plain text. */
  message?: string | null;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const DAY_IN_WORDS = new Intl.DateTimeFormat('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const TIME_OF_DAY = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' });

/** "Sunday, 29 November 2026 at 09:00 UTC". */
export function formatDateInWords(ms: number): string {
  const date = new Date(ms);
  return `${DAY_IN_WORDS.format(date)} at ${TIME_OF_DAY.format(date)} UTC`;
}

const SPAN_UNITS: Array<[number, string]> = [
  [UNIT_MS.d, 'day'],
  [UNIT_MS.h, 'hour'],
  [UNIT_MS.m, 'minute'],
  [UNIT_MS.s, 'second'],
];

const counted = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * A length of time in its largest unit and, when not a whole number of it, the next one rounded:
 * "7 days", "1 hour and 30 minutes", "6 days and 21 hours" (an email delivered three hours late).
 */
export function formatSpan(ms: number): string {
  const at = SPAN_UNITS.findIndex(([size]) => ms >= size);
  if (at < 0) return 'under a second';
  const [size, unit] = SPAN_UNITS[at]!;
  const next = SPAN_UNITS[at + 1];
  if (!next) {
    const n = Math.round(ms / size);
    // Rounded up to a whole minute (59.6 seconds): said as that.
    return n * size >= SPAN_UNITS[at - 1]![0] ? formatSpan(SPAN_UNITS[at - 1]![0]) : counted(n, unit);
  }
  const whole = Math.floor(ms / size);
  const rest = Math.round((ms - whole * size) / next[0]);
  // Rounded up to a whole one more (7 days less a few milliseconds): said as that.
  if (rest * next[0] >= size) return formatSpan((whole + 1) * size);
  return rest ? `${counted(whole, unit)} and ${counted(rest, next[1])}` : counted(whole, unit);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function invitationEmail(data: InvitationEmailData): RenderedEmail {
  const inviter = data.inviterName?.trim() || `An admin of ${data.orgName}`;
  // Told apart in the inbox from the email before it (and not threaded with an expired one).
  const again = data.reason === 'resend' ? ' (reminder)' : data.reason === 'renew' ? ' (new link)' : '';
  const subject = `${inviter} invited you to join ${data.orgName}${again}`;
  // Relative to the sending, since the email is read later: "in 7 days" would still say so days on.
  const expiry = `${formatDateInWords(data.expiresAt)} (${formatSpan(data.expiresAt - data.now)} after this email was sent)`;
  const role = ROLE_LABELS[data.role];
  const intro =
    data.reason === 'renew'
      ? `${inviter} sent you a new invitation to join ${data.orgName} as ${role}. Any earlier link no longer works.`
      : `${inviter} invited you to join ${data.orgName} as ${role}.`;
  const personal = data.message?.trim() ? data.message.trim() : undefined;
  const text = [
    `Hello,`,
    ``,
    intro,
    ``,
    ...(personal ? [`${inviter} wrote:`, ...personal.split('\n').map((line) => `> ${line}`), ``] : []),
    `Accept the invitation and set your name and password here:`,
    data.link,
    ``,
    `This invitation is for ${data.email} and expires on ${expiry}.`,
    `If you did not expect it, you can ignore this email.`,
  ].join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:24px;background:#f6f6f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1d1c1d">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">
<table role="presentation" width="100%" style="max-width:520px;background:#ffffff;border-radius:8px;padding:32px" cellpadding="0" cellspacing="0">
<tr><td>
<h1 style="font-size:20px;margin:0 0 16px">Join ${escapeHtml(data.orgName)}</h1>
<p style="font-size:15px;line-height:1.5;margin:0 0 24px">${escapeHtml(intro)}</p>
${personal ? `<p style="font-size:15px;line-height:1.5;margin:0 0 8px">${escapeHtml(inviter)} wrote:</p><blockquote style="margin:0 0 24px;padding:8px 16px;border-left:4px solid #d1d2d3;font-size:15px;line-height:1.5;white-space:pre-line">${escapeHtml(personal)}</blockquote>` : ''}
<p style="margin:0 0 24px"><a href="${escapeHtml(data.link)}" style="display:inline-block;background:#1264a3;color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:600">Accept invitation</a></p>
<p style="font-size:13px;line-height:1.5;color:#616061;margin:0 0 8px">Or paste this link into your browser:<br><a href="${escapeHtml(data.link)}" style="color:#1264a3;word-break:break-all">${escapeHtml(data.link)}</a></p>
<p style="font-size:13px;line-height:1.5;color:#616061;margin:0">This invitation is for ${escapeHtml(data.email)} and expires on ${escapeHtml(expiry)}. If you did not expect it, you can ignore this email.</p>
</td></tr></table></td></tr></table>
</body></html>`;
  return { subject, text, html };
}
