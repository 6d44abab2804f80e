import type { Trx } from '../db/index.js';
import { isRequester, memberSlackUser } from '../invites/approvals.js';
import type { Invitation } from '../invites/model.js';
import { actorFromRef } from '../shared/actor.js';
import { ROLES, roleHas } from '../members/roles.js';
import { enqueue } from '../outbox/outbox.js';
import { inviterAudience, queueNotices } from './queue.js';

/**
 * The Slack side of the rule "Policy", queued in the transaction of each change: the approval
 * request for each approver (or the approval channel), the in-place update of every copy once it
 * is decided, and the requester's DM. Delivered by the Slack door (slack/notices/approval-messages.ts), so
 * a Slack outage delays them and never drops them.
 */
export const SLACK_APPROVAL = 'slack_approval';

export type ApprovalPayload =
  /** Post the request to a channel or an approver (a user id): the posted message is remembered for updates. */
  | { op: 'post'; invitationId: string; recipient: string }
  /** Redraw every posted copy of the request from the invitation's current state. */
  | { op: 'update'; invitationId: string };

export interface ApprovalSettings {
  /** SLACK_APPROVAL_CHANNEL; unset: each approver gets a DM. */
  channel?: string;
  /** SLACK_ADMIN_USER_IDS: bootstrap admins approve too. */
  bootstrapAdmins: readonly string[];
}

/** Everyone who may approve and can be reached in Slack: bootstrap admins and linked members whose role approves. */
async function approvers(trx: Trx, bootstrapAdmins: readonly string[]): Promise<string[]> {
  const roles = ROLES.filter((role) => roleHas(role, 'invite:approve'));
  const members = (await trx('members').whereIn('role', roles).where({ state: 'active' }).whereNotNull('slack_user_id').select('slack_user_id')) as Array<{ slack_user_id: string }>;
  return [...new Set([...bootstrapAdmins, ...members.map((m) => m.slack_user_id)])];
}

/** The requester's own Slack user ids (who must not be asked to approve themselves), as the two-person rule has them. */
async function requesterSlackIds(trx: Trx, invitation: Invitation): Promise<Set<string>> {
  const { slackUserId, memberId } = invitation.invitedBy;
  const viaMember = memberId ? await memberSlackUser(trx, memberId) : null;
  return new Set([slackUserId, viaMember].filter((id): id is string => id !== null));
}

/**
 * Asks for each held invitation: in the approval channel, or in a DM to every approver but the
 * requester. `once` keys the requests so that asking again for the same reason (a delivery tried
 * twice) queues them once.
 */
export async function queueApprovalRequests(trx: Trx, now: number, invitations: Invitation[], settings: ApprovalSettings, once?: string): Promise<void> {
  if (invitations.length === 0) return;
  const everyone = settings.channel ? [] : await approvers(trx, settings.bootstrapAdmins);
  const messages = [];
  for (const invitation of invitations) {
    const own = settings.channel ? new Set<string>() : await requesterSlackIds(trx, invitation);
    const recipients = settings.channel ? [settings.channel] : everyone.filter((id) => !own.has(id));
    for (const recipient of recipients) {
      messages.push({ kind: SLACK_APPROVAL, invitationId: invitation.id, ...(once ? { dedupeKey: `${once}:${recipient}` } : {}), payload: { op: 'post', invitationId: invitation.id, recipient } satisfies ApprovalPayload });
    }
  }
  await enqueue(trx, now, messages);
}

/** Once decided, lapsed or withdrawn: every copy of the request is redrawn, and the requester is told of a decision. */
export async function queueApprovalDecided(trx: Trx, now: number, invitation: Invitation, settings: ApprovalSettings): Promise<void> {
  await enqueue(trx, now, [{ kind: SLACK_APPROVAL, invitationId: invitation.id, payload: { op: 'update', invitationId: invitation.id } satisfies ApprovalPayload }]);
  // Withdrawn (revoked) rather than decided: the requester is told only when someone else revoked it.
  const asked = { invited_by_member_id: invitation.invitedBy.memberId, invited_by_slack_user_id: invitation.invitedBy.slackUserId };
  if (!invitation.approval?.decision && (await isRequester(trx, asked, actorFromRef(invitation.revokedBy)))) return;
  const { recipients, asInviter } = await inviterAudience(trx, invitation, settings.bootstrapAdmins);
  if (asInviter) return queueNotices(trx, now, recipients.map((recipient) => ({ notice: 'approval_decided', recipient, invitationId: invitation.id })));
  // An admin hearing in the requester's place is not told of their own decision (made in Slack, or as a member on the web or the API).
  const decider = actorFromRef(invitation.approval?.decidedBy ?? invitation.revokedBy);
  const deciderSlack = decider.type === 'slack' ? decider.slackUserId : decider.type === 'member' ? await memberSlackUser(trx, decider.memberId) : null;
  const told = recipients.filter((id) => id !== deciderSlack);
  await queueNotices(trx, now, told.map((recipient) => ({ notice: 'approval_decided', recipient, invitationId: invitation.id, asInviter })));
}
