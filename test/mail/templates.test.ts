import { describe, expect, it } from 'vitest';
import { formatSpan, invitationEmail } from '../../src/mail/templates.js';

const NOW = Date.UTC(2026, 10, 22, 9, 0);
const base = { orgName: 'Acme', inviterName: 'Ada <Lovelace>', email: 'jane@example.io', role: 'member' as const, link: `http://doorman.test/invite?token=${'t'.repeat(43)}`, expiresAt: NOW + 7 * 86_400_000, now: NOW };

describe('the invitation email', () => {
  it('says in its subject whether it is the first, a reminder or a new link, so an inbox tells them apart', () => {
    expect(invitationEmail({ ...base, reason: 'invite' }).subject).toBe('Ada <Lovelace> invited you to join Acme');
    expect(invitationEmail({ ...base, reason: 'resend' }).subject).toBe('Ada <Lovelace> invited you to join Acme (reminder)');
    const renewed = invitationEmail({ ...base, reason: 'renew' });
    expect(renewed.subject).toBe('Ada <Lovelace> invited you to join Acme (new link)');
    expect(renewed.text).toContain('Any earlier link no longer works.');
  });

  it('gives the expiry as a date and as a time after the sending, which stays true however late it is read', () => {
    const { text, html } = invitationEmail({ ...base, reason: 'invite' });
    expect(text).toContain('expires on Sunday, 29 November 2026 at 09:00 UTC (7 days after this email was sent).');
    expect(html).toContain('Sunday, 29 November 2026 at 09:00 UTC (7 days after this email was sent)');
    expect(text).not.toMatch(/\(in 7 days\)/);
  });

  it('says who wrote the personal message in both parts, escaped in HTML', () => {
    const { text, html } = invitationEmail({ ...base, reason: 'invite', message: 'Welcome <b>aboard</b>!' });
    expect(text).toContain('Ada <Lovelace> wrote:\n> Welcome <b>aboard</b>!');
    expect(html).toMatch(/<p[^>]*>Ada &lt;Lovelace&gt; wrote:<\/p><blockquote[^>]*>Welcome &lt;b&gt;aboard&lt;\/b&gt;!<\/blockquote>/);
  });
});

describe('formatSpan', () => {
  it('names a length of time in its largest unit, with the next one when it is not whole', () => {
    expect(formatSpan(7 * 86_400_000)).toBe('7 days');
    expect(formatSpan(86_400_000)).toBe('1 day');
    expect(formatSpan(7 * 86_400_000 - 3 * 3_600_000)).toBe('6 days and 21 hours');
    expect(formatSpan(7 * 86_400_000 - 5)).toBe('7 days');
    expect(formatSpan(3_600_000 - 100)).toBe('1 hour');
    expect(formatSpan(90 * 60_000)).toBe('1 hour and 30 minutes');
    expect(formatSpan(61 * 60_000)).toBe('1 hour and 1 minute');
    expect(formatSpan(45_000)).toBe('45 seconds');
    expect(formatSpan(59_600)).toBe('1 minute');
    expect(formatSpan(400)).toBe('under a second');
  });
});
