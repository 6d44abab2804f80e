import type { Db } from '../../db/index.js';
import type { Invitation } from '../../invites/model.js';
import type { InvitesService } from '../../invites/service.js';
import type { MembersService } from '../../members/service.js';
import { displayName } from '../../members/service.js';
import { invitationIdsOf, noticeOf, SLACK_NOTICE, type NoticePayload } from '../../notices/queue.js';
import type { OutboxRow } from '../../outbox/outbox.js';
import { suggestAddress } from '../../invites/typos.js';
import { acceptedNotice, listNotice, NOTICE_ROWS, refusedNotice, renewalRequestNotice } from '../blocks/notice-dms.js';
import type { Block } from '../blocks/limits.js';
import { weeklyReportMessage } from '../blocks/weekly-report.js';
import { storedReport } from '../../report/runs.js';
import { approvalDecidedNotice } from '../blocks/approvals.js';

export interface NoticeDeps {
  db: Db;
  invites: InvitesService;
  members: MembersService;
}

/** A queued notice by its outbox id (the id its buttons carry). */
export async function loadNotice(db: Db, noticeId: number): Promise<NoticePayload | undefined> {
  const row = await db<OutboxRow>('outbox').where({ id: noticeId, kind: SLACK_NOTICE }).first();
  return row ? noticeOf(row) : undefined;
}

/** Draws a notice from the current state of what it is about (also after a click on it). */
export async function renderNotice(deps: NoticeDeps, noticeId: number, payload: NoticePayload, note?: string): Promise<{ text: string; blocks: Block[] } | undefined> {
  if (payload.notice === 'accepted') return renderAcceptedNote(deps, payload.memberId, note);
  if (payload.notice === 'refused') {
    const [invitation] = await deps.invites.getMany([payload.invitationId]);
    return invitation ? refusedNotice({ noticeId, invitation, reason: payload.reason, suggestion: suggestAddress(invitation.email), notice: note }) : undefined;
  }
  if (payload.notice === 'weekly_report') {
    const figures = await storedReport(deps.db, payload.periodEnd);
    return figures ? weeklyReportMessage(figures) : undefined;
  }
  if (payload.notice === 'approval_decided') {
    const decided = (await deps.invites.getMany(invitationIdsOf(payload))).filter((invitation) => invitation.approval?.decision || invitation.status === 'revoked');
    return decided.length ? approvalDecidedNotice(decided, payload.asInviter ?? true) : undefined;
  }
  if (payload.notice === 'renewal_request') {
    const [[invitation], request] = await Promise.all([deps.invites.getMany([payload.invitationId]), deps.invites.renewalRequest(payload.requestId)]);
    return invitation && request ? renewalRequestNotice({ noticeId, invitation, request, notice: note }) : undefined;
  }
  // The headline counts how many are still as the notice tells, so every invitation is read once.
  return drawList(noticeId, payload, await deps.invites.getMany(payload.invitationIds), note);
}

/**
 * A notice as first posted. A reminder none of whose invitations still waits, or an expiry notice
 * none of whose invitations is still expired (accepted, resent, sent anew or revoked while it
 * waited for Slack), is 'overtaken': nothing left to say. Its invitations are read once, all of them.
 */
export async function renderFirstPost(deps: NoticeDeps, noticeId: number, payload: NoticePayload): Promise<{ text: string; blocks: Block[] } | 'overtaken' | undefined> {
  if (payload.notice !== 'reminder' && payload.notice !== 'expired') return renderNotice(deps, noticeId, payload);
  const invitations = await deps.invites.getMany(payload.invitationIds);
  return invitations.some((invitation) => stillAsTold(payload, invitation)) ? drawList(noticeId, payload, invitations) : 'overtaken';
}

/**
 * Whether an invitation is still as its notice tells: expired; or, for a reminder, pending and not
 * resent since it was queued (what it reminded of was sent before: the sweep claims only those).
 */
function stillAsTold(payload: ListPayload, invitation: Invitation): boolean {
  if (payload.notice === 'expired') return invitation.status === 'expired';
  return invitation.status === 'pending' && invitation.lastSentAt < (payload.queuedAt ?? Infinity);
}

type ListPayload = Extract<NoticePayload, { notice: 'reminder' | 'expired' }>;

function drawList(noticeId: number, payload: ListPayload, invitations: Invitation[], note?: string) {
  const still = invitations.filter((i) => stillAsTold(payload, i)).length;
  return listNotice({ noticeId, kind: payload.notice, invitations: invitations.slice(0, NOTICE_ROWS), total: payload.invitationIds.length, still, notice: note });
}

/** The acceptance note as the member is now (also after its role select was used). */
export async function renderAcceptedNote(deps: Pick<NoticeDeps, 'members'>, memberId: string, note?: string): Promise<{ text: string; blocks: Block[] } | undefined> {
  // A member deleted since has nothing left to tell; a failure (the database) is retried.
  const member = await deps.members.find(memberId);
  if (!member) return undefined;
  const name = displayName(member);
  return acceptedNotice({ email: member.email, role: member.role, memberId: member.id, memberName: name === member.email ? null : name, notice: note });
}
