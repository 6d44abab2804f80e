import { domainToASCII } from 'node:url';
import type { Role } from '../members/roles.js';
import type { Actor } from '../shared/actor.js';

/**
 * The rule "Policy": which invitations wait for a second person's approval, and who is held to
 * the daily limit. Pure functions over the configuration; the invitation modules apply them.
 */

/** Why an invitation waits for approval. */
export type ApprovalReason = 'outside_domains' | 'admin_role';
export const APPROVAL_REASONS: readonly ApprovalReason[] = ['outside_domains', 'admin_role'];

export const APPROVAL_REASON_WORDS: Record<ApprovalReason, string> = {
  outside_domains: 'the address is outside the allowed domains',
  admin_role: 'the admin role needs approval',
};

/** `acme.com` matches that domain only; `*.acme.com` matches its subdomains (not acme.com itself). */
export interface DomainPattern {
  domain: string;
  subdomains: boolean;
}

export interface InvitePolicy {
  /** INVITE_ALLOWED_DOMAINS; undefined: every domain. */
  allowedDomains?: readonly DomainPattern[];
  /** INVITE_DAILY_LIMIT: invitations per inviter per 24 hours. */
  dailyLimit: number;
  /** SLACK_ADMIN_USER_IDS: bootstrap admins are not limited. */
  unlimitedSlackUserIds: readonly string[];
  /**
   * Whether this process was given the Slack settings, so that SLACK_ADMIN_USER_IDS says who the
   * bootstrap admins are (false: a CLI run without them cannot tell). Unset: it was.
   */
  slackSettingsKnown?: boolean;
}

export const DEFAULT_DAILY_LIMIT = 500;
/**
 * Without a policy (a service built by hand) nothing is limited, and no Slack settings are known; the
 * app always passes its configuration.
 */
export const DEFAULT_POLICY: InvitePolicy = { dailyLimit: Infinity, unlimitedSlackUserIds: [], slackSettingsKnown: false };

/**
 * `acme.com, *.acme.com` → patterns, or the entry that is not a domain. Domains are compared in
 * lower case and in their ASCII (punycode) form, as addresses are stored.
 */
export function parseAllowedDomains(raw: string): { patterns: DomainPattern[] } | { problem: string } {
  const patterns: DomainPattern[] = [];
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const subdomains = entry.startsWith('*.');
    const ascii = domainToASCII(subdomains ? entry.slice(2) : entry);
    const labels = ascii.split('.');
    if (!ascii || labels.length < 2 || !labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) {
      return { problem: `"${entry}" is not a domain; use a comma list like acme.com, *.acme.com` };
    }
    patterns.push({ domain: ascii, subdomains });
  }
  if (patterns.length === 0) return { problem: 'names no domain; leave it unset to allow every domain' };
  return { patterns };
}

/** Whether an address (already normalized) is within the allowed domains. */
export function domainAllowed(email: string, allowed: readonly DomainPattern[] | undefined): boolean {
  if (!allowed) return true;
  const at = email.lastIndexOf('@');
  const domain = domainToASCII(email.slice(at + 1).toLowerCase());
  if (!domain) return false;
  // A suffix match on whole labels: `*.acme.com` takes `eu.acme.com`, never `acme.com.evil.io` or `evilacme.com`.
  return allowed.some((p) => (p.subdomains ? domain.endsWith('.' + p.domain) : domain === p.domain));
}

/**
 * Why inviting `email` with `role` needs approval (empty: it goes out at once). The CLI operator
 * (the system actor) is never held: it already holds every power a hold would guard, and a hold it
 * lifts itself would be no second pair of eyes.
 */
export function approvalReasons(policy: InvitePolicy, actor: Actor, email: string, role: Role): ApprovalReason[] {
  if (actor.type === 'system') return [];
  const reasons: ApprovalReason[] = [];
  if (!domainAllowed(email, policy.allowedDomains)) reasons.push('outside_domains');
  if (role === 'admin') reasons.push('admin_role');
  return reasons;
}

/** Why an invitation waits, in words ("the address is outside the allowed domains; …"). */
export function approvalWords(invitation: { approval?: { reasons: readonly ApprovalReason[] } | null }): string {
  return (invitation.approval?.reasons ?? []).map((r) => APPROVAL_REASON_WORDS[r]).join('; ') || 'held by policy';
}

/** The CLI operator, or a bootstrap admin (SLACK_ADMIN_USER_IDS): may act whatever the database holds. */
export function isOperatorOrBootstrap(policy: InvitePolicy, actor: Actor): boolean {
  return actor.type === 'system' || (actor.type === 'slack' && policy.unlimitedSlackUserIds.includes(actor.slackUserId));
}

/** Bootstrap admins and the CLI operator are not held to the daily limit. */
export function isLimited(policy: InvitePolicy, actor: Actor): boolean {
  return !isOperatorOrBootstrap(policy, actor);
}

export function encodeReasons(reasons: readonly ApprovalReason[]): string | null {
  return reasons.length ? reasons.join(',') : null;
}

export function decodeReasons(stored: string | null | undefined): ApprovalReason[] {
  if (!stored) return [];
  return stored.split(',').filter((r): r is ApprovalReason => (APPROVAL_REASONS as readonly string[]).includes(r));
}
