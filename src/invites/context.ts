import type { Logger } from 'pino';
import type { Db, Trx } from '../db/index.js';
import type { Member, MembersService } from '../members/service.js';
import type { Clock } from '../shared/clock.js';
import type { Actor } from '../shared/actor.js';
import { can } from '../members/model.js';
import type { Permission } from '../members/roles.js';
import { AlreadyMember, AwaitingApproval, InvalidInput, InvitationAccepted, InvitationExpired, InvitationNotExpired, InvitationRevoked, NotFound } from '../shared/errors.js';
import { shownStatus, type Invitation, type InvitationRow, type ShownStatus } from './model.js';
import { forUpdate } from '../db/index.js';
import { isIdOf } from '../shared/ids.js';
import type { InvitePolicy } from './policy.js';
import type { InviteLinks } from './tokens.js';
import type { EventSink } from '../events/events.js';

/** What the invitation modules share: the database, the clock, links and the hooks wired in app.ts. */
export interface InvitesContext {
  db: Db;
  clock: Clock;
  links: InviteLinks;
  members: MembersService;
  inviteTtlMs: number;
  /** The rule "Policy": allowed domains and the daily limit. */
  policy: InvitePolicy;
  logger?: Pick<Logger, 'warn'>;
  /** Where changes queue their events (webhooks), in their own transaction. */
  events: EventSink;
  /** After a transaction queued work (mail, notices), so a worker in this process starts at once. */
  onQueued(): void;
  /** Inside the accepting transaction: what other parts add to an acceptance (Slack notices). */
  onAccepted?(trx: Trx, now: number, invitation: Invitation, member: Member): Promise<void>;
  /** Inside the transaction recording a renewal request: whom to tell (Slack notices). Without it, no one can be asked. */
  onRenewalRequested?(trx: Trx, now: number, invitation: Invitation, requestId: string): Promise<void>;
  /** Inside the transaction holding invitations for approval: whom to ask (Slack messages). */
  onApprovalRequested?(trx: Trx, now: number, invitations: Invitation[]): Promise<void>;
  /** Inside the transaction of approvals, denials, lapses or a withdrawal (revoke), all decided alike: whom to tell and which messages to update. */
  onApprovalDecided?(trx: Trx, now: number, invitations: Invitation[]): Promise<void>;
}

/** Refuses, as unknown, what cannot be an invitation's id (before a database sees it: PostgreSQL refuses a NUL in text). */
export function requireInvitationId(id: string): void {
  if (!isIdOf('invite', id)) throw new NotFound('invitation', String(id).slice(0, 60));
}

/** One invitation by id (locked for the transaction when asked); unknown ids are NotFound. */
export async function invitationRow(db: Db | Trx, id: string, lock = false): Promise<InvitationRow> {
  requireInvitationId(id);
  const query = db<InvitationRow>('invitations').where({ id });
  const row = await (lock ? forUpdate(query) : query).first();
  if (!row) throw new NotFound('invitation', id);
  return row;
}

/**
 * Whether the actor's member, read now, has `permission` (active, with the role for it): a member
 * demoted or deactivated a moment ago (the CLI, another instance) is told apart from what a door
 * checked earlier. Undefined when the actor is no member (the operator, a Slack user without one).
 */
export async function memberMayNow(db: Db | Trx, actor: Actor, permission: Permission): Promise<boolean | undefined> {
  const memberId = actor.type === 'system' ? undefined : actor.memberId;
  if (!memberId) return undefined;
  return can((await db('members').where({ id: memberId }).first('role', 'state')) as Pick<Member, 'role' | 'state'> | undefined, permission);
}

/**
 * Why one who invited may no longer invite in their own name, read now, or undefined: the operator
 * always may; a bootstrap admin while listed, whatever their member is; a member while active and an
 * admin. A run without the Slack settings cannot tell a bootstrap admin: it lets a Slack user with no
 * member be, and judges one with a member by that member (refusing is undone by asking again; an
 * approval is not). Nothing outlives its inviter's deactivation or demotion.
 * 'member': deactivated or no longer an admin; 'unlisted': no longer in SLACK_ADMIN_USER_IDS.
 */
export async function whyNoLongerInviting(policy: InvitePolicy, db: Db | Trx, by: Pick<InvitationRow, 'invited_by_member_id' | 'invited_by_slack_user_id'>): Promise<'member' | 'unlisted' | undefined> {
  const { invited_by_member_id: memberId, invited_by_slack_user_id: slackUserId } = by;
  if (!memberId && !slackUserId) return undefined;
  if (slackUserId && (policy.unlimitedSlackUserIds.includes(slackUserId) || (policy.slackSettingsKnown === false && !memberId))) return undefined;
  // A Slack user with no member invites only as a bootstrap admin: one no longer listed is like one demoted.
  if (memberId && (await memberMayNow(db, { type: 'member', memberId }, 'member:manage'))) return undefined;
  return memberId ? 'member' : 'unlisted';
}

/** whyNoLongerInviting's answer in words, said of them (a request's requester) or to them (their import's DM). */
export function noLongerInvitingWords(why: 'member' | 'unlisted', person: 'they' | 'you'): string {
  if (why === 'unlisted') return `${person} are no longer in SLACK_ADMIN_USER_IDS`;
  return `${person === 'you' ? 'your' : 'their'} Doorman account was deactivated, or is no longer an admin`;
}

/** Whether the address belongs to an active member. */
export async function isMember(db: Db | Trx, email: string): Promise<boolean> {
  return (await db('members').where({ email, state: 'active' }).first('id')) !== undefined;
}

/**
 * Refuses to email a link to an address that became an active member since it was invited (say by
 * `doorman user create`): accepting it could only fail.
 */
export async function requireNotMember(db: Db | Trx, email: string): Promise<void> {
  if (await isMember(db, email)) throw new AlreadyMember(email);
}

/** Refuses with the error that names the invitation's actual state. */
export function requireState(row: InvitationRow, now: number, allowed: readonly ShownStatus[]): void {
  const status = shownStatus(row, now);
  if (allowed.includes(status)) return;
  switch (status) {
    case 'accepted':
      throw new InvitationAccepted(row.id, row.email, row.accepted_at === null ? undefined : Number(row.accepted_at));
    case 'revoked':
      throw new InvitationRevoked(row.id, row.invited_by_name);
    case 'expired':
      throw new InvitationExpired(row.id, Number(row.expires_at), row.invited_by_name);
    case 'pending':
      throw new InvitationNotExpired(row.id);
    case 'awaiting_approval':
      throw new AwaitingApproval(row.id);
    default:
      throw new InvalidInput(`Unknown invitation status "${String(status)}".`);
  }
}
