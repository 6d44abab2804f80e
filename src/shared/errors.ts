/**
 * Domain errors. Each door (Slack, web, CLI) maps these codes to its own words in one place;
 * nothing matches on message text. ConfigError, at the end, is start-up's own.
 */
export type DomainErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'unknown_token'
  | 'link_replaced'
  | 'invite_expired'
  | 'invite_not_expired'
  | 'invite_revoked'
  | 'sent_again'
  | 'invite_accepted'
  | 'already_member'
  | 'weak_password'
  | 'invalid_credentials'
  | 'not_permitted'
  | 'last_admin'
  | 'member_deactivated'
  | 'overloaded'
  | 'awaiting_approval'
  | 'not_awaiting_approval'
  | 'already_decided'
  | 'own_request'
  | 'approval_lapsed'
  | 'daily_limit';

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInput extends DomainError {
  readonly code = 'invalid_input';
  constructor(message: string, readonly field?: string, readonly entries: string[] = []) {
    super(message);
  }
}
export class NotFound extends DomainError {
  readonly code = 'not_found';
  /** `key` is what was looked up: an id, or the email address the CLI takes for a member. */
  constructor(readonly what: 'invitation' | 'member' | 'webhook endpoint' | 'approval request', readonly key: string, by: 'id' | 'email' = 'id') {
    super(`No ${what} with ${by} ${key}.`);
  }
}
export class UnknownToken extends DomainError {
  readonly code = 'unknown_token';
  constructor() {
    super('This invitation link is not valid.');
  }
}
/** A link a newer invitation replaced: it no longer works, and the newer email holds the one that does. */
export class LinkReplaced extends DomainError {
  readonly code = 'link_replaced';
  constructor() {
    super('This invitation link was replaced by a newer one; use the link in the latest invitation email.');
  }
}
export class InvitationExpired extends DomainError {
  readonly code = 'invite_expired';
  constructor(readonly invitationId: string, readonly expiredAt: number, readonly invitedBy: string | null) {
    super('This invitation has expired.');
  }
}
export class InvitationNotExpired extends DomainError {
  readonly code = 'invite_not_expired';
  constructor(readonly invitationId: string) {
    super('This invitation has not expired yet; resend it instead, the link stays the same.');
  }
}
export class InvitationRevoked extends DomainError {
  readonly code = 'invite_revoked';
  /** `invitedBy`: whom the invitee's page suggests asking, when the inviter is known. */
  constructor(readonly invitationId: string, readonly invitedBy: string | null = null) {
    super('This invitation was revoked.');
  }
}
/**
 * A revoke of an invitation as it was shown (a row on screen, a question the CLI asked), which
 * someone sent again meanwhile: that sending was not the one asked about, so nothing is revoked.
 */
export class SentAgainSinceShown extends DomainError {
  readonly code = 'sent_again';
  constructor(readonly invitationId: string, readonly email: string, readonly status: 'pending' | 'awaiting_approval') {
    super(`The invitation to ${email} was sent again since it was shown, so nothing was revoked; revoke it again if you still mean to.`);
  }
}
export class InvitationAccepted extends DomainError {
  readonly code = 'invite_accepted';
  /** `email` and `acceptedAt` let the invitee's page say whose account it became, and when. */
  constructor(readonly invitationId: string, readonly email?: string, readonly acceptedAt?: number) {
    super('This invitation has already been accepted.');
  }
}
export class AlreadyMember extends DomainError {
  readonly code = 'already_member';
  constructor(readonly email: string) {
    super(`${email} is already a member.`);
  }
}
export class WeakPassword extends DomainError {
  readonly code = 'weak_password';
  constructor(message: string) {
    super(message);
  }
}
export class InvalidCredentials extends DomainError {
  readonly code = 'invalid_credentials';
  constructor() {
    super('Wrong email or password.');
  }
}
export class NotPermitted extends DomainError {
  readonly code = 'not_permitted';
  constructor(readonly permission: string) {
    super(`You need the ${permission === 'member:manage' ? 'Member: Manage' : permission === 'invite:approve' ? 'Invite: Approve' : permission} permission to do this.`);
  }
}
export class LastAdmin extends DomainError {
  readonly code = 'last_admin';
  constructor() {
    super('This is the last active admin; make someone else an admin first.');
  }
}
export class MemberDeactivated extends DomainError {
  readonly code = 'member_deactivated';
  /** `email`: the account's address, when an invitation link that set it up was opened. */
  constructor(readonly memberId: string, readonly email?: string) {
    super('This member is deactivated.');
  }
}

/** The invitation waits for a second person's approval (the rule "Policy"): nothing else can be done with it yet. */
export class AwaitingApproval extends DomainError {
  readonly code = 'awaiting_approval';
  constructor(readonly invitationId: string) {
    super('This invitation is waiting for approval; approve or deny it first.');
  }
}

/** Approve or deny of an invitation that was never held for approval. */
export class NotAwaitingApproval extends DomainError {
  readonly code = 'not_awaiting_approval';
  constructor(readonly invitationId: string) {
    super('This invitation is not waiting for approval.');
  }
}

/** Someone else decided first (the rule "Policy": one decision wins). */
export class AlreadyDecided extends DomainError {
  readonly code = 'already_decided';
  constructor(readonly invitationId: string, readonly decision: 'approved' | 'denied', readonly decidedBy: string | null, readonly decidedByName: string | null) {
    super(`This request was already ${decision}${decidedByName ? ` by ${decidedByName}` : ''}.`);
  }
}

/** The two-person rule: nobody approves or denies their own request. */
export class OwnRequest extends DomainError {
  readonly code = 'own_request';
  constructor(readonly invitationId: string) {
    super('You asked for this invitation, so someone else has to approve or deny it.');
  }
}

/** Nobody decided within INVITE_TTL: the request lapsed and can no longer be approved. */
export class ApprovalLapsed extends DomainError {
  readonly code = 'approval_lapsed';
  constructor(readonly invitationId: string) {
    super('This request lapsed: nobody decided within the invitation time. Invite the address again to ask anew.');
  }
}

/** The inviter's INVITE_DAILY_LIMIT for the last 24 hours is used up. */
export class DailyLimitReached extends DomainError {
  readonly code = 'daily_limit';
  /** Seconds until one more invitation may be stored, when known (an HTTP Retry-After). */
  readonly retryAfterS: number | undefined;
  constructor(readonly limit: number, waitMs?: number) {
    const retryAfterS = waitMs === undefined ? undefined : Math.max(1, Math.ceil(waitMs / 1000));
    super(`You have reached today's limit of ${limit.toLocaleString('en')} invitations; try again ${retryAfterS === undefined ? 'later' : `in ${waitWords(retryAfterS)}`}.`);
    this.retryAfterS = retryAfterS;
  }
}

/** A Retry-After as a person reads it ("30 seconds", "15 minutes", "23 hours"): what a refusal asks them to wait. */
export function waitWords(retryAfterS: number): string {
  const seconds = Math.max(1, Math.ceil(retryAfterS));
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return minutes < 120 ? `${minutes} minutes` : `${Math.ceil(minutes / 60)} hours`;
}

/** More work of one kind (password hashing) is waiting than the service takes on: try again shortly. */
export class Overloaded extends DomainError {
  readonly code = 'overloaded';
  constructor(readonly retryAfterS: number) {
    super('Too many sign-ins and accepts at once; please try again in a moment.');
  }
}

/** An error as one line for a log or an outbox row: its message, whitespace collapsed, at most 500 characters. */
export function describeError(error: unknown): string {
  const e = error as { message?: string } | null | undefined;
  const text = e?.message ?? String(error);
  return text.replace(/\s+/g, ' ').slice(0, 500);
}

/** A bad environment value: start-up stops with one line naming the variable. */
export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}
