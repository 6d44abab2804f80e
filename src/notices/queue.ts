import { chunked, type Db, type Trx } from '../db/index.js';
import { can } from '../members/model.js';
import type { Role } from '../members/roles.js';
import { enqueue, type OutboxMessage, type OutboxRow } from '../outbox/outbox.js';
import { memberSlackUser } from '../invites/approvals.js';
import { actorFromRef } from '../shared/actor.js';

/**
 * Slack notices are queued in the outbox like emails, in the transaction of the change that
 * causes them, and rendered at delivery time from the invitations' current state.
 */
export const SLACK_NOTICE = 'slack_notice';

export type NoticePayload =
  | { notice: 'expired'; recipient: string; invitationIds: string[] }
  /** `queuedAt`: when the sweep queued it (see noticeOf; absent in the row: the row's own created_at). */
  | { notice: 'reminder'; recipient: string; invitationIds: string[]; queuedAt?: number }
  | { notice: 'accepted'; recipient: string; invitationId: string; memberId: string }
  | { notice: 'refused'; recipient: string; invitationId: string; reason: string }
  | { notice: 'renewal_request'; recipient: string; invitationId: string; requestId: string }
  /** `recipient` is a Slack user (a DM) or REPORT_CHANNEL; the figures are kept with the period's report run. */
  | { notice: 'weekly_report'; recipient: string; periodEnd: number }
  /**
   * The rule "Policy": the requester hears how their request ended (approved, denied or lapsed).
   * `invitationIds`: the invitations of one request decided together (absent: `invitationId` alone);
   * `asInviter: false`: the recipient hears in the requester's place (absent: the requester).
   */
  | { notice: 'approval_decided'; recipient: string; invitationId: string; invitationIds?: string[]; asInviter?: false };

/**
 * A queued notice as its row holds it. A reminder carries when the sweep queued it (a stand-in's copy
 * keeps the original's): what was resent after it is no longer due.
 */
export function noticeOf(row: Pick<OutboxRow, 'payload' | 'created_at'>): NoticePayload {
  const payload = JSON.parse(row.payload) as NoticePayload;
  return payload.notice === 'reminder' && payload.queuedAt === undefined ? { ...payload, queuedAt: Number(row.created_at) } : payload;
}

/** A Slack user id: where a DM goes (chat.postMessage to a user id opens the DM). */
export type SlackUserId = string;

export interface InviterRef {
  invited_by_slack_user_id: string | null;
  /** The inviting member's linked Slack user, when the invitation came from the API or CLI. */
  inviter_member_slack_user_id: string | null;
  /** The inviting member has been deactivated since, or is no longer an admin: they could not act on a notice. */
  inviter_member_cannot_act?: boolean;
}

/** Whether an inviting member (their role and state now) can no longer act on a notice: deactivated, or no longer an admin. */
export function cannotAct(member: { role: string; state: string } | undefined): boolean {
  return !!member && !can({ role: member.role as Role, state: member.state as 'active' | 'deactivated' }, 'member:manage');
}

/** The invitations a notice tells of (none for a report). */
export function invitationIdsOf(payload: NoticePayload): string[] {
  if ('invitationIds' in payload && payload.invitationIds) return payload.invitationIds;
  return 'invitationId' in payload ? [payload.invitationId] : [];
}

/**
 * Whether the person a notice was queued for may still hear it, by audienceFor's rule read again now:
 * a bootstrap admin; someone linked to a member who can act (not deactivated or demoted since); or the
 * Slack user who made one of its invitations, unless the member they invited as can no longer act. A
 * channel may. Deactivation also ends a member's link, so a stand-in deactivated since hears no more.
 */
export async function mayStillHear(db: Db | Trx, payload: NoticePayload, bootstrapAdmins: readonly string[]): Promise<boolean> {
  const recipient = payload.recipient;
  if (!/^[UW]/.test(recipient) || bootstrapAdmins.includes(recipient)) return true;
  const member = (await db('members').where({ slack_user_id: recipient }).first('role', 'state')) as { role: string; state: string } | undefined;
  if (member) return !cannotAct(member);
  for (const chunk of chunked(invitationIdsOf(payload))) {
    const inviters = (await db('invitations as i')
      .leftJoin('members as m', 'm.id', 'i.invited_by_member_id')
      .whereIn('i.id', chunk)
      .where('i.invited_by_slack_user_id', recipient)
      .distinct('m.role', 'm.state')) as Array<{ role: string | null; state: string | null }>;
    if (inviters.some((m) => !cannotAct(m.role && m.state ? { role: m.role, state: m.state } : undefined))) return true;
  }
  return false;
}

/**
 * Who hears in the inviter's place (an inviter with no Slack user, or one who can no longer act): the
 * bootstrap admins, or — with none configured — every active admin member linked to a Slack user.
 */
export async function standInAdmins(db: Db | Trx, bootstrapAdmins: readonly string[]): Promise<SlackUserId[]> {
  return bootstrapAdmins.length ? [...bootstrapAdmins] : linkedAdmins(db);
}

/**
 * The stand-ins these invitations need: the linked admins are read only when no bootstrap admin is
 * configured and some inviter cannot hear.
 */
export async function standInsFor(db: Db | Trx, refs: readonly InviterRef[], bootstrapAdmins: readonly string[]): Promise<SlackUserId[]> {
  return refs.some((ref) => !audienceFor(ref, bootstrapAdmins).asInviter) ? standInAdmins(db, bootstrapAdmins) : [...bootstrapAdmins];
}

/** Every active admin member linked to a Slack user. */
export async function linkedAdmins(db: Db | Trx): Promise<SlackUserId[]> {
  return (await db('members').where({ role: 'admin', state: 'active' }).whereNotNull('slack_user_id').orderBy('slack_user_id').pluck('slack_user_id')) as string[];
}

/**
 * Who hears about an invitation: its inviter's Slack user, or — when the inviter has none — the
 * stand-ins. An inviter deactivated since, or no longer an admin, can no longer act on what they
 * would hear, and is told nothing more about the invitees: the stand-ins hear instead (unless the
 * inviter is one of them).
 * `asInviter` says whether the recipients are the inviter, so a DM can say "your invitation".
 */
export function audienceFor(invitation: InviterRef, standIns: readonly SlackUserId[]): { recipients: SlackUserId[]; asInviter: boolean } {
  const inviter = invitation.invited_by_slack_user_id ?? invitation.inviter_member_slack_user_id;
  if (!inviter || (invitation.inviter_member_cannot_act && !standIns.includes(inviter))) return { recipients: [...standIns], asInviter: false };
  return { recipients: [inviter], asInviter: true };
}

/** Groups invitations by who should hear about them: one notice per recipient. */
export function groupByRecipient<T extends InviterRef & { id: string }>(rows: readonly T[], standIns: readonly SlackUserId[]): Map<SlackUserId, string[]> {
  const groups = new Map<SlackUserId, string[]>();
  for (const row of rows) {
    for (const recipient of audienceFor(row, standIns).recipients) {
      const ids = groups.get(recipient) ?? [];
      ids.push(row.id);
      groups.set(recipient, ids);
    }
  }
  return groups;
}

/** One weekly report per period and recipient, however many instances or tries queue it. */
export function weeklyReportKey(periodEnd: number, recipient: string): string {
  return `weekly_report:${periodEnd}:${recipient}`;
}

export async function queueNotices(trx: Trx, now: number, notices: NoticePayload[], dedupeKey?: (payload: NoticePayload) => string): Promise<void> {
  const messages: OutboxMessage<NoticePayload>[] = notices.map((payload) => ({
    kind: SLACK_NOTICE,
    payload,
    invitationId: 'invitationId' in payload ? payload.invitationId : undefined,
    dedupeKey: dedupeKey?.(payload),
  }));
  await enqueue(trx, now, messages);
}

type InvitedBy = { slackUserId: string | null; memberId: string | null };

/** The inviter as Slack knows them: the Slack user who invited, and the inviting member's linked Slack user. */
export async function inviterSlackIds(trx: Trx, invitedBy: InvitedBy): Promise<InviterRef> {
  const member = invitedBy.memberId ? ((await trx('members').where({ id: invitedBy.memberId }).first('slack_user_id', 'state', 'role')) as { slack_user_id: string | null; state: string; role: string } | undefined) : undefined;
  return { invited_by_slack_user_id: invitedBy.slackUserId, inviter_member_slack_user_id: member?.slack_user_id ?? null, inviter_member_cannot_act: cannotAct(member) };
}

/** Who hears about an invitation (see audienceFor), from the invitation and the inviting member's link. */
export async function inviterAudience(trx: Trx, invitation: { invitedBy: InvitedBy }, bootstrapAdmins: readonly string[]): Promise<{ recipients: SlackUserId[]; asInviter: boolean }> {
  const ref = await inviterSlackIds(trx, invitation.invitedBy);
  return audienceFor(ref, await standInsFor(trx, [ref], bootstrapAdmins));
}

/** Tells the inviter once that the mail server refused an invitation's email for good. */
export async function queueRefusedNotice(trx: Trx, now: number, invitation: { id: string; invitedBy: InvitedBy }, reason: string, bootstrapAdmins: readonly string[]): Promise<void> {
  const { recipients } = await inviterAudience(trx, invitation, bootstrapAdmins);
  await enqueue(
    trx,
    now,
    recipients.map((recipient) => ({ kind: SLACK_NOTICE, invitationId: invitation.id, dedupeKey: `refused:${invitation.id}:${recipient}`.slice(0, 200), payload: { notice: 'refused', recipient, invitationId: invitation.id, reason } satisfies NoticePayload })),
  );
}

/** Asks the inviter (or the stand-ins) for a new invitation on behalf of the holder of an expired link. */
export async function queueRenewalRequestNotice(trx: Trx, now: number, invitation: { id: string; invitedBy: InvitedBy }, requestId: string, bootstrapAdmins: readonly string[]): Promise<void> {
  const { recipients } = await inviterAudience(trx, invitation, bootstrapAdmins);
  await queueNotices(trx, now, recipients.map((recipient) => ({ notice: 'renewal_request', recipient, invitationId: invitation.id, requestId })));
}

/** The acceptance note for the inviter (or the stand-ins). */
export async function queueAcceptedNotice(trx: Trx, now: number, invitation: { id: string; invitedBy: InvitedBy }, memberId: string, bootstrapAdmins: readonly string[]): Promise<void> {
  const { recipients } = await inviterAudience(trx, invitation, bootstrapAdmins);
  await queueNotices(trx, now, recipients.map((recipient) => ({ notice: 'accepted', recipient, invitationId: invitation.id, memberId })));
}

/**
 * The same notice queued for the stand-ins, in the place of a recipient who can no longer hear it
 * (deactivated in Slack) or act on it (deactivated or demoted in Doorman since); answers how many.
 * A report goes to every admin already. A recipient who is or was a stand-in (`wasStandIn`: may
 * have been) was either told as one (the others were told too: nothing more) or as the inviter
 * (an admin): then the others hear of that recipient's own invitations. An approval outcome says
 * which: the others hear of the requester's, all but the admin who decided. Each copy is queued once
 * per notice (`from`, its outbox row), however many times that notice is tried (its outcome lost in a crash, say).
 */
export async function queueForStandIns(trx: Trx, now: number, payload: NoticePayload, bootstrapAdmins: readonly string[], from: Pick<OutboxRow, 'id' | 'created_at'>, wasStandIn = false): Promise<number> {
  if (payload.notice === 'weekly_report') return 0;
  if (payload.notice === 'approval_decided' && payload.asInviter === false) return 0;
  const standIns = await standInAdmins(trx, bootstrapAdmins);
  const copy = payload.notice !== 'approval_decided' && (wasStandIn || standIns.includes(payload.recipient)) ? await asInviterOnly(trx, payload, Number(from.created_at)) : payload;
  const decider = copy?.notice === 'approval_decided' ? await deciderOf(trx, copy.invitationId) : null;
  const others = standIns.filter((recipient) => recipient !== payload.recipient && recipient !== decider);
  if (!copy || others.length === 0) return 0;
  await queueNotices(
    trx,
    now,
    others.map((recipient): NoticePayload => (copy.notice === 'approval_decided' ? { ...copy, recipient, asInviter: false } : { ...copy, recipient })),
    (queued) => `standin:${from.id}:${queued.recipient}`,
  );
  return others.length;
}

/** The Slack user of whoever decided (or withdrew) an invitation's approval request, if one. */
export async function deciderOf(trx: Trx, invitationId: string): Promise<SlackUserId | null> {
  const row = (await trx('invitations').where({ id: invitationId }).first('decided_by', 'revoked_by')) as { decided_by: string | null; revoked_by: string | null } | undefined;
  return slackUserOf(trx, row?.decided_by ?? row?.revoked_by);
}

/** The Slack user an actor reference ("slack:U…", "member:…") names: a member's link, or the one they held last. */
export async function slackUserOf(trx: Trx, ref: string | null | undefined): Promise<SlackUserId | null> {
  const actor = actorFromRef(ref);
  return actor.type === 'slack' ? actor.slackUserId : actor.type === 'member' ? memberSlackUser(trx, actor.memberId) : null;
}

/**
 * The part of a notice that told its recipient of their own invitations (as inviter); undefined when none did.
 * `queuedAt`: when the notice was queued, to read an inviting member's link as it was then.
 */
async function asInviterOnly(trx: Trx, payload: Exclude<NoticePayload, { notice: 'weekly_report' | 'approval_decided' }>, queuedAt: number): Promise<NoticePayload | undefined> {
  const ids = invitationIdsOf(payload);
  const own: string[] = [];
  const heldBy = new Map<string, SlackUserId | null>();
  for (const chunk of chunked(ids)) {
      // The inviter as audienceFor read it when the notice was queued: the Slack user who invited, else
    // the inviting member's link then (changed since by a deactivation, an unlink or a new link).
    const rows = (await trx('invitations').whereIn('id', chunk).select('id', 'invited_by_slack_user_id', 'invited_by_member_id')) as Array<{ id: string; invited_by_slack_user_id: string | null; invited_by_member_id: string | null }>;
    for (const row of rows) {
      let inviter = row.invited_by_slack_user_id;
      if (!inviter && row.invited_by_member_id) {
        if (!heldBy.has(row.invited_by_member_id)) heldBy.set(row.invited_by_member_id, await memberSlackUser(trx, row.invited_by_member_id, queuedAt));
        inviter = heldBy.get(row.invited_by_member_id)!;
      }
      if (inviter === payload.recipient) own.push(row.id);
    }
  }
  if (own.length === 0) return undefined;
  if (!('invitationIds' in payload)) return payload;
  const kept = new Set(own);
  return { ...payload, invitationIds: payload.invitationIds.filter((id) => kept.has(id)) };
}
