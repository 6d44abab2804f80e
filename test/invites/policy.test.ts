import { describe, expect, it } from 'vitest';
import { approvalReasons, domainAllowed, isLimited, parseAllowedDomains, type DomainPattern, type InvitePolicy } from '../../src/invites/policy.js';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/shared/errors.js';

function patterns(raw: string): DomainPattern[] {
  const parsed = parseAllowedDomains(raw);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.patterns;
}

describe('allowed domains (INVITE_ALLOWED_DOMAINS)', () => {
  const allowed = patterns('acme.com, *.acme.com, Example.ORG');

  it('a plain domain matches itself only; *.domain matches its subdomains only', () => {
    expect(domainAllowed('jane@acme.com', allowed)).toBe(true);
    expect(domainAllowed('jane@eu.acme.com', allowed)).toBe(true);
    expect(domainAllowed('jane@a.b.acme.com', allowed)).toBe(true);
    expect(domainAllowed('jane@example.org', allowed)).toBe(true);
    expect(domainAllowed('jane@sub.example.org', allowed)).toBe(false);
    expect(domainAllowed('jane@other.io', allowed)).toBe(false);
    expect(domainAllowed('jane@acme.co', allowed)).toBe(false);
  });

  it('look-alikes do not match: suffixes, prefixes and a domain used as a subdomain', () => {
    expect(domainAllowed('x@acme.com.evil.io', allowed)).toBe(false);
    expect(domainAllowed('x@evilacme.com', allowed)).toBe(false);
    expect(domainAllowed('x@acme.comm', allowed)).toBe(false);
    expect(domainAllowed('acme.com@evil.io', allowed)).toBe(false);
    const onlySubdomains = patterns('*.acme.com');
    expect(domainAllowed('x@acme.com', onlySubdomains)).toBe(false);
    expect(domainAllowed('x@acme.com.evil.io', onlySubdomains)).toBe(false);
    expect(domainAllowed('x@eu.acme.com', onlySubdomains)).toBe(true);
  });

  it('compares case-insensitively and in the ASCII form of international domains', () => {
    expect(domainAllowed('Jane@ACME.Com', allowed)).toBe(true);
    expect(domainAllowed('jane@EU.ACME.COM', allowed)).toBe(true);
    const idn = patterns('bücher.de');
    expect(domainAllowed('x@xn--bcher-kva.de', idn)).toBe(true);
    expect(domainAllowed('x@BÜCHER.de', idn)).toBe(true);
  });

  it('unset allows every domain', () => {
    expect(domainAllowed('anyone@anywhere.io', undefined)).toBe(true);
  });

  it('refuses what is not a domain list, naming the entry', () => {
    expect(parseAllowedDomains('acme.com, not a domain')).toEqual({ problem: expect.stringContaining('"not a domain"') });
    expect(parseAllowedDomains('*.com')).toEqual({ problem: expect.stringContaining('"*.com"') });
    expect(parseAllowedDomains('acme.com,*acme.com')).toEqual({ problem: expect.stringContaining('"*acme.com"') });
    expect(parseAllowedDomains(' , ')).toEqual({ problem: expect.stringContaining('names no domain') });
  });
});

describe('what needs approval and who is limited', () => {
  const policy: InvitePolicy = { allowedDomains: patterns('acme.com'), dailyLimit: 10, unlimitedSlackUserIds: ['U0BOOT'] };
  const person = { type: 'slack', slackUserId: 'U0ANA' } as const;

  it('an outside address and the admin role each need approval, and both are named', () => {
    expect(approvalReasons(policy, person, 'jane@acme.com', 'member')).toEqual([]);
    expect(approvalReasons(policy, person, 'jane@other.io', 'member')).toEqual(['outside_domains']);
    expect(approvalReasons(policy, person, 'jane@acme.com', 'admin')).toEqual(['admin_role']);
    expect(approvalReasons(policy, { type: 'member', memberId: 'usr_1' }, 'jane@other.io', 'admin')).toEqual(['outside_domains', 'admin_role']);
    expect(approvalReasons({ ...policy, allowedDomains: undefined }, person, 'jane@other.io', 'admin')).toEqual(['admin_role']);
  });

  it('the CLI operator is never held and never limited; bootstrap admins are held but not limited', () => {
    expect(approvalReasons(policy, { type: 'system' }, 'jane@other.io', 'admin')).toEqual([]);
    expect(isLimited(policy, { type: 'system' })).toBe(false);
    expect(isLimited(policy, { type: 'slack', slackUserId: 'U0BOOT' })).toBe(false);
    expect(approvalReasons(policy, { type: 'slack', slackUserId: 'U0BOOT' }, 'jane@other.io', 'member')).toEqual(['outside_domains']);
    expect(isLimited(policy, person)).toBe(true);
    expect(isLimited(policy, { type: 'member', memberId: 'usr_1' })).toBe(true);
  });
});

describe('configuration', () => {
  const base = { DATA_DIR: '/tmp/doorman-policy-config', APP_SECRET: 'x'.repeat(40) };

  it('reads the domains, the daily limit (default 500) and the approval channel', () => {
    const config = loadConfig({ ...base, INVITE_ALLOWED_DOMAINS: 'acme.com, *.acme.com', INVITE_DAILY_LIMIT: '25', SLACK_APPROVAL_CHANNEL: 'C024BE91L' });
    expect(config.allowedDomains).toEqual([{ domain: 'acme.com', subdomains: false }, { domain: 'acme.com', subdomains: true }]);
    expect(config.inviteDailyLimit).toBe(25);
    expect(config.slack.approvalChannel).toBe('C024BE91L');
    const defaults = loadConfig(base);
    expect(defaults.allowedDomains).toBeUndefined();
    expect(defaults.inviteDailyLimit).toBe(500);
    expect(defaults.slack.approvalChannel).toBeUndefined();
  });

  it.each([
    ['INVITE_ALLOWED_DOMAINS', 'acme.com, @evil'],
    ['INVITE_DAILY_LIMIT', '0'],
    ['INVITE_DAILY_LIMIT', 'lots'],
    ['SLACK_APPROVAL_CHANNEL', '#approvals'],
  ])('a bad %s (%s) stops start-up naming the variable', (variable, value) => {
    expect(() => loadConfig({ ...base, [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });
});
