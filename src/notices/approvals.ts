import { serializeOn, type Trx } from '../db/index.js';
import { INVITE_LOCK, isRequester, memberSlackUser, requestWaits } from '../invites/approvals.js';
import type { Invitation } from '../invites/model.js';
import { actorFromRef } from '../shared/actor.js';
import { ROLES, roleHas } from '../members/roles.js';
import { enqueue, type OutboxRow } from '../outbox/outbox.js';
import { inviterAudience, queueNotices, slackUserOf } from './queue.js';

/**
 * The Slack side of the rule "Policy", queued in the transaction of each change: the approval
 * request for each approver (or the approval channel), the in-place update of every copy once it
 * is decided, and the requester's DM. Delivered by the Slack door (slack/notices/approval-messages.ts), so
 * a Slack outage delays them and never drops them.
 */
export const SLACK_APPROVAL = 'slack_approval_request';
/**
 * Items of the version before requests were kept, naming an invitation: still delivered (an older
 * instance may queue them during a rolling upgrade), and never claimed by it in the new form.
 */
export const SLACK_APPROVAL_BEFORE_REQUESTS = 'slack_approval';

export type ApprovalPayload =
  /** Post the request to a channel or an approver (a user id): the posted message is remembered for updates. */
  | { op: 'post'; requestId: string; recipient: string }
  /**
   * Redraw every posted copy of the request from its invitations' current state; `channels`: only
   * those copies (the rest of a redraw Slack rate-limited part-way).
   */
  | { op: 'update'; requestId: string; channels?: string[] };

/** The outbox item that redraws every posted copy of a request (the invitation names it for the outbox). */
export function redrawItem(invitationId: string, requestId: string, later?: { channels?: string[]; notBefore: number }) {
  return { kind: SLACK_APPROVAL, invitationId, payload: redrawPayload(requestId, later?.channels), ...(later ? { notBefore: later.notBefore } : {}) };
}

/** A redraw's payload, as stored: what tells one redraw of a request from the next. */
export function redrawPayload(requestId: string, channels?: string[]): ApprovalPayload {
  return channels ? { op: 'update', requestId, channels } : { op: 'update', requestId };
}

/** What an item of the version before requests were kept carries: the invitation, whose request it names. */
export type PayloadBeforeRequests = { op: 'post'; invitationId: string; recipient: string } | { op: 'update'; invitationId: string };

/** The held invitations by the request they belong to, in their order. */
function byRequest(invitations: readonly Invitation[]): Map<string, Invitation[]> {
  const requests = new Map<string, Invitation[]>();
  for (const invitation of invitations) {
    const id = invitation.approval?.requestId ?? invitation.id;
    const request = requests.get(id);
    if (request) request.push(invitation);
    else requests.set(id, [invitation]);
  }
  return requests;
}

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
 * Asks for each request (the invitations one inviting action held): in the approval channel, or in
 * a DM to every approver but the requester, one message per request and recipient however often it
 * is asked (by the transactions that add to it, or again where requests go now), and a request that
 * grows is redrawn.
 */
export async function queueApprovalRequests(trx: Trx, now: number, invitations: Invitation[], settings: ApprovalSettings): Promise<void> {
  if (invitations.length === 0) return;
  const everyone = settings.channel ? [] : await approvers(trx, settings.bootstrapAdmins);
  const messages = [];
  for (const [requestId, added] of byRequest(invitations)) {
    const first = added[0]!;
    // One inviting action: one requester for the whole request.
    const own = settings.channel ? new Set<string>() : await requesterSlackIds(trx, first);
    const recipients = settings.channel ? [settings.channel] : everyone.filter((id) => !own.has(id));
    for (const recipient of recipients) {
      messages.push({ kind: SLACK_APPROVAL, invitationId: first.id, dedupeKey: `request:${requestId}:${recipient}`, payload: { op: 'post', requestId, recipient } satisfies ApprovalPayload });
    }
    // Added to by an earlier transaction of the same action: what was posted then is redrawn.
    const [count] = (await trx('invitations').where({ approval_request_id: requestId }).count({ n: '*' })) as Array<{ n: number | string }>;
    if (Number(count?.n ?? 0) > added.length) messages.push(redrawItem(first.id, requestId));
  }
  await enqueue(trx, now, messages);
}

/**
 * Once decided, lapsed or withdrawn: every copy of each request is redrawn, and its requester is
 * told of the decision, in one DM for the invitations of a request decided together.
 */
export async function queueApprovalDecided(trx: Trx, now: number, invitations: Invitation[], settings: ApprovalSettings): Promise<void> {
  for (const [requestId, decided] of byRequest(invitations)) {
    const first = decided[0]!;
    await enqueue(trx, now, [redrawItem(first.id, requestId)]);
    // Withdrawn (revoked) rather than decided: the requester is told only when someone else revoked it.
    const asked = { invited_by_member_id: first.invitedBy.memberId, invited_by_slack_user_id: first.invitedBy.slackUserId };
    if (!first.approval?.decision && (await isRequester(trx, asked, actorFromRef(first.revokedBy)))) continue;
    const ids = decided.map((invitation) => invitation.id);
    const subject = { invitationId: first.id, ...(ids.length > 1 ? { invitationIds: ids } : {}) };
    const { recipients, asInviter } = await inviterAudience(trx, first, settings.bootstrapAdmins);
    if (asInviter) {
      await queueNotices(trx, now, recipients.map((recipient) => ({ notice: 'approval_decided', recipient, ...subject })));
      continue;
    }
    // An admin hearing in the requester's place is not told of their own decision (made in Slack, or as a member on the web or the API).
    const deciderSlack = await slackUserOf(trx, first.approval?.decidedBy ?? first.revokedBy);
    await queueNotices(trx, now, recipients.filter((id) => id !== deciderSlack).map((recipient) => ({ notice: 'approval_decided', recipient, ...subject, asInviter })));
  }
}

/**
 * A post whose request was decided before anyone was asked gives up its dedupe key, unless the
 * request grew meanwhile (answers whether it gave it up): so a growth committed after it finds the
 * key free and queues its own post. It takes the inviting lock first, so a growth under way (whose
 * post the key turned away) commits before the request is read.
 */
export async function releasePostUnlessGrown(trx: Trx, post: Pick<OutboxRow, 'id' | 'dedupe_key'>, requestId: string): Promise<boolean> {
  await serializeOn(trx, INVITE_LOCK);
  await trx('outbox').where({ id: post.id }).update({ dedupe_key: null });
  if (!(await requestWaits(trx, requestId))) return true;
  await trx('outbox').where({ id: post.id }).update({ dedupe_key: post.dedupe_key });
  return false;
}
