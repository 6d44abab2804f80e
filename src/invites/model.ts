import type { Role } from '../members/roles.js';
import { decodeReasons, type ApprovalReason } from './policy.js';

/** `awaiting`: held by the rule "Policy" until a second person approves (shown as awaiting_approval); nothing was emailed. */
export type StoredStatus = 'pending' | 'accepted' | 'revoked' | 'awaiting';
/** What people see: a pending invitation past its expiry is Expired. */
export type ShownStatus = 'pending' | 'expired' | 'accepted' | 'revoked' | 'awaiting_approval';
export const SHOWN_STATUSES: readonly ShownStatus[] = ['pending', 'expired', 'accepted', 'revoked', 'awaiting_approval'];
/** How a held invitation was decided: by an approver, or by nobody within INVITE_TTL. */
export type Decision = 'approved' | 'denied' | 'lapsed';
/** `refused`: the mail server said no for good (a 5xx to the recipient); the error holds its words. */
export type DeliveryState = 'queued' | 'sent' | 'failing' | 'refused';

export interface InvitationRow {
  id: string;
  email: string;
  role: Role;
  status: StoredStatus;
  token_hash: string;
  token_nonce: string;
  expires_at: number;
  invited_by_member_id: string | null;
  invited_by_slack_user_id: string | null;
  invited_by_name: string | null;
  created_at: number;
  updated_at: number;
  last_sent_at: number;
  send_count: number;
  accepted_at: number | null;
  accepted_member_id: string | null;
  revoked_at: number | null;
  revoked_by: string | null;
  delivery_state: DeliveryState;
  delivery_error: string | null;
  metadata: string | null;
  /** How long this invitation's links work, when the inviter chose (null: INVITE_TTL). */
  ttl_ms: number | null;
  /** The inviter's personal message, plain text. */
  message: string | null;
  /** Why it was held for approval (comma list), null when it never was. */
  approval_reasons: string | null;
  decided_at: number | null;
  decided_by: string | null;
  decided_by_name: string | null;
  decision: Decision | null;
  deny_reason: string | null;
  /** The approval request it was held in, shared by the invitations held together (null: held before requests were kept, a request of its own). */
  approval_request_id?: string | null;
}

/** A held invitation's approval: why it waits, and once decided, who decided what. */
export interface Approval {
  reasons: ApprovalReason[];
  decision: Decision | null;
  decidedAt: number | null;
  /** `slack:U…`, `member:usr_…` or `system`. */
  decidedBy: string | null;
  decidedByName: string | null;
  denyReason: string | null;
  /** The approval request it belongs to: the invitations held by one inviting action share it. */
  requestId: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  status: ShownStatus;
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  lastSentAt: number;
  sendCount: number;
  invitedBy: { memberId: string | null; slackUserId: string | null; name: string | null };
  acceptedAt: number | null;
  acceptedMemberId: string | null;
  revokedAt: number | null;
  revokedBy: string | null;
  delivery: { state: DeliveryState; error: string | null };
  metadata: Record<string, unknown> | null;
  /** The inviter's personal message, plain text. */
  message: string | null;
  /** Only when held for approval (now or before). */
  approval?: Approval | null;
  /** Only when asked for (admin listings) and only for live pending invitations. */
  token?: string;
}

export function shownStatus(row: Pick<InvitationRow, 'status' | 'expires_at'>, now: number): ShownStatus {
  if (row.status === 'pending' && Number(row.expires_at) <= now) return 'expired';
  if (row.status === 'awaiting') return 'awaiting_approval';
  return row.status;
}

/**
 * The invitation expired before its last email went out (an outage longer than the link): the
 * email is dropped then, never retried, and only a new invitation reaches the person.
 */
export function lastEmailLost(invitation: Pick<Invitation, 'status' | 'delivery'>): boolean {
  return invitation.status === 'expired' && (invitation.delivery.state === 'queued' || invitation.delivery.state === 'failing');
}

/**
 * Whether an email was ever queued for the invitation as it stands: not while it waits for approval
 * (one sent before a raise to admin was its old link's), nor once denied or lapsed unapproved.
 */
export function hadEmail(invitation: Pick<Invitation, 'status' | 'sendCount'>): boolean {
  return invitation.status !== 'awaiting_approval' && invitation.sendCount > 0;
}

export function toInvitation(row: InvitationRow, now: number): Invitation {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: shownStatus(row, now),
    expiresAt: Number(row.expires_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    lastSentAt: Number(row.last_sent_at),
    sendCount: Number(row.send_count),
    invitedBy: { memberId: row.invited_by_member_id, slackUserId: row.invited_by_slack_user_id, name: row.invited_by_name },
    acceptedAt: row.accepted_at === null ? null : Number(row.accepted_at),
    acceptedMemberId: row.accepted_member_id,
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    revokedBy: row.revoked_by,
    delivery: { state: row.delivery_state, error: row.delivery_error },
    metadata: row.metadata ? (JSON.parse(row.metadata) as Record<string, unknown>) : null,
    message: row.message ?? null,
    approval: row.approval_reasons
      ? {
          reasons: decodeReasons(row.approval_reasons),
          decision: row.decision ?? null,
          decidedAt: row.decided_at === null || row.decided_at === undefined ? null : Number(row.decided_at),
          decidedBy: row.decided_by ?? null,
          decidedByName: row.decided_by_name ?? null,
          denyReason: row.deny_reason ?? null,
          requestId: row.approval_request_id ?? row.id,
        }
      : null,
  };
}

/** One answer for a whole invite request (the rule "Skips"). */
export interface InviteSummary {
  /** New invitations, emailed. */
  sent: string[];
  /** Expired invitations given a new link, emailed. */
  renewed: string[];
  alreadyMember: string[];
  /** A live pending invitation exists; resend it instead. */
  alreadyInvited: Array<{ email: string; invitationId: string }>;
  /** Already waiting for approval, asked before this request: left for an approver, nothing sent. */
  alreadyAwaiting?: Array<{ email: string; invitationId: string }>;
  invalid: Array<{ entry: string; reason: string }>;
  /** Ids of the invitations sent or renewed, in the order of `sent` then `renewed`. */
  invitationIds: string[];
  /** Already invited, and resent with the same link because the inviter asked (the form's review). */
  resent?: string[];
  /** Stored, not emailed: waiting for a second person's approval (the rule "Policy"), and why. */
  awaitingApproval?: Array<{ email: string; invitationId: string; reasons: ApprovalReason[] }>;
  /** Not stored: past the inviter's INVITE_DAILY_LIMIT for the last 24 hours. */
  overLimit?: string[];
}

/** A summary of nothing: where a request stores nothing, or before its first part. */
export function emptySummary(): InviteSummary {
  return { sent: [], renewed: [], alreadyMember: [], alreadyInvited: [], invalid: [], invitationIds: [] };
}

/** Whether a summary stored anything: an invitation sent, renewed, resent or held for approval. */
export function storedAnything(summary: InviteSummary): boolean {
  return summary.sent.length + summary.renewed.length + (summary.resent?.length ?? 0) + (summary.awaitingApproval?.length ?? 0) > 0;
}

/**
 * How many entries a request refused when it stored nothing (0 when it stored some, or refused none):
 * invalid entries, not counting one also named in another group (a repeat), and those over the daily limit.
 */
export function refusedWhenNothingStored(summary: InviteSummary): number {
  const stored = summary.sent.length + summary.renewed.length + (summary.resent?.length ?? 0) + (summary.awaitingApproval?.length ?? 0);
  if (stored) return 0;
  const named = new Set([...summary.sent, ...summary.renewed, ...summary.alreadyMember, ...(summary.resent ?? []), ...[...summary.alreadyInvited, ...(summary.alreadyAwaiting ?? []), ...(summary.awaitingApproval ?? [])].map((e) => e.email)]);
  return summary.invalid.filter((entry) => !named.has(entry.entry)).length + (summary.overLimit?.length ?? 0);
}

/** Two summaries as one (a list stored in several parts). */
export function mergeSummaries(a: InviteSummary, b: InviteSummary): InviteSummary {
  return {
    sent: [...a.sent, ...b.sent],
    renewed: [...a.renewed, ...b.renewed],
    alreadyMember: [...a.alreadyMember, ...b.alreadyMember],
    alreadyInvited: [...a.alreadyInvited, ...b.alreadyInvited],
    invalid: [...a.invalid, ...b.invalid],
    // Each part's ids are its sent, then its renewed: the whole's are every part's sent, then every part's renewed.
    invitationIds: [...a.invitationIds.slice(0, a.sent.length), ...b.invitationIds.slice(0, b.sent.length), ...a.invitationIds.slice(a.sent.length), ...b.invitationIds.slice(b.sent.length)],
    ...(a.alreadyAwaiting || b.alreadyAwaiting ? { alreadyAwaiting: [...(a.alreadyAwaiting ?? []), ...(b.alreadyAwaiting ?? [])] } : {}),
    ...(a.awaitingApproval || b.awaitingApproval ? { awaitingApproval: [...(a.awaitingApproval ?? []), ...(b.awaitingApproval ?? [])] } : {}),
    ...(a.overLimit || b.overLimit ? { overLimit: [...(a.overLimit ?? []), ...(b.overLimit ?? [])] } : {}),
  };
}
