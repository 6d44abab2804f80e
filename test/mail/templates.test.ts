import { describe, expect, it } from 'vitest';
import { invitationEmail } from '../../src/mail/templates.js';

const NOW = Date.UTC(2026, 10, 22, 9, 0);
const base = { orgName: 'Acme', inviterName: 'Ada <Lovelace>', email: 'jane@example.io', role: 'member' as const, link: `http://doorman.test/invite?token=${'t'.repeat(43)}`, expiresAt: NOW + 7 * 86_400_000, now: NOW };

describe('the invitation email', () => {
  it('says in its subject whether it is the first, a reminder or a new link, so an inbox tells them apart', () => {
    expect(invitationEmail({ ...base, reason: 'invite' }).subject).toBe('Ada <Lovelace> invited you to join Acme');
    expect(invitationEmail({ ...base, reason: 'resend' }).subject).toBe('Ada <Lovelace> invited you to join Acme (reminder)');
    const renewed = invitationEmail({ ...base, reason: 'new_invitation' });
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
