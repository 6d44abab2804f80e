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
  reason: 'invite' | 'resend' | 'new_invitation';
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

/** "in 7 days", "in 2 hours", "in 90 seconds". */
export function formatRelative(ms: number): string {
  const units: Array<[number, string]> = [
    [UNIT_MS.d, 'day'],
    [UNIT_MS.h, 'hour'],
    [UNIT_MS.m, 'minute'],
    [UNIT_MS.s, 'second'],
  ];
  for (const [size, name] of units) {
    const n = Math.round(ms / size);
    if (n >= 1 && ms >= size) return `in ${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return 'now';
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function invitationEmail(data: InvitationEmailData): RenderedEmail {
  const inviter = data.inviterName?.trim() || `An admin of ${data.orgName}`;
  // Told apart in the inbox from the email before it (and not threaded with an expired one).
  const again = data.reason === 'resend' ? ' (reminder)' : data.reason === 'new_invitation' ? ' (new link)' : '';
  const subject = `${inviter} invited you to join ${data.orgName}${again}`;
  // Relative to the sending, since the email is read later: "in 7 days" would still say so days on.
  const expiry = `${formatDateInWords(data.expiresAt)} (${formatRelative(data.expiresAt - data.now).replace(/^in /, '')} after this email was sent)`;
  const role = ROLE_LABELS[data.role];
  const intro =
    data.reason === 'new_invitation'
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
