import type { Trx } from '../db/index.js';
import type { Role } from '../members/roles.js';
import { actorId, type Actor } from '../shared/actor.js';
import { toIso } from '../shared/clock.js';

/**
 * What happened, as other systems hear of it (signed webhooks). Each change queues its events in
 * its own transaction through an `EventSink`, so an event goes out exactly when its change is stored:
 * `await ctx.events.queueEvents(trx, now, [invitationEvent('invite.approved', row, actor)])`.
 * The approval events are declared here for the approval policy to queue the same way.
 */
export const EVENT_TYPES = [
  'invite.created',
  'invite.resent',
  'invite.renewed',
  'invite.revoked',
  'invite.accepted',
  'invite.expired',
  'invite.reminded',
  'invite.delivery_failed',
  'invite.approval_requested',
  'invite.approved',
  'invite.denied',
  'member.created',
  'member.role_changed',
  'member.deactivated',
  'member.api_token_issued',
  'member.api_token_revoked',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** The invitation as events show it: never its token, link, nonce or message. */
export interface InvitationFacts {
  id: string;
  email: string;
  role: Role;
  status: string;
  expires_at: number | string;
  invited_by_member_id: string | null;
  invited_by_slack_user_id: string | null;
  /** The approval request it was held in (the rule "Policy"), when it was. */
  approval_request_id?: string | null;
}

/** The member as events show it: never a password hash or an API token. */
export interface MemberFacts {
  id: string;
  email: string;
  role: Role;
  state: string;
}

export interface DoormanEvent {
  type: EventType;
  /** The body's `data`: built only by the functions below, from an allow-list of fields. */
  data: EventData;
}

/** An opaque brand, so `data` can only come from the builders below (no row spread in by mistake). */
export type EventData = Record<string, unknown> & { readonly __allowListed: true };

function allowListed(data: Record<string, unknown>): EventData {
  return data as EventData;
}

function actorData(actor: Actor): { type: Actor['type']; id: string | null } {
  return { type: actor.type, id: actorId(actor) };
}

function invitationData(invitation: InvitationFacts) {
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    // Stored as `awaiting` (the column is short); every door shows it as awaiting_approval.
    status: invitation.status === 'awaiting' ? 'awaiting_approval' : invitation.status,
    expires_at: toIso(invitation.expires_at),
    invited_by: { member_id: invitation.invited_by_member_id, slack_user_id: invitation.invited_by_slack_user_id },
    // Held together by one inviting action, they share it: a receiver can group them as approvers see them.
    ...(invitation.approval_request_id ? { approval_request_id: invitation.approval_request_id } : {}),
  };
}

/** An event about one invitation, with who did it (none for the system's own doings such as expiry) and a few named extras. */
export function invitationEvent(
  type: Extract<EventType, `invite.${string}`>,
  invitation: InvitationFacts,
  actor: Actor | null,
  extra: { member_id?: string; delivery?: { state: 'failing' | 'refused'; error: string }; reason?: string } = {},
): DoormanEvent {
  const data: Record<string, unknown> = { invitation: invitationData(invitation), actor: actor ? actorData(actor) : null };
  if (extra.member_id !== undefined) data.member_id = extra.member_id;
  if (extra.delivery) data.delivery = { state: extra.delivery.state, error: withoutUrls(extra.delivery.error) };
  if (extra.reason !== undefined) data.reason = withoutUrls(extra.reason);
  return { type, data: allowListed(data) };
}

export function memberEvent(type: Extract<EventType, `member.${string}`>, member: MemberFacts, actor: Actor, extra: { previous_role?: Role } = {}): DoormanEvent {
  const data: Record<string, unknown> = { member: { id: member.id, email: member.email, role: member.role, state: member.state }, actor: actorData(actor) };
  if (extra.previous_role !== undefined) data.previous_role = extra.previous_role;
  return { type, data: allowListed(data) };
}

/**
 * A word that is or holds a link, however it was written: `scheme://…`, `//host/…`, `www.…`,
 * `host.tld[:port]/…`, `1.2.3.4[:port]/…`, or anything carrying a `token=`.
 */
const LINK_WORD = /[a-z][a-z0-9+.-]*:\/\/|(?:^|[^\w.])(?:\/\/|www\.)|[a-z0-9-]\.[a-z]{2,}(?::\d+)?\/|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\/|token=/i;

/** Free text from outside (a mail server's answer, a reason typed by a person) could quote a link: links are cut out. */
export function withoutUrls(text: string): string {
  return text.split(/(\s+)/).map((word) => (LINK_WORD.test(word) ? '[link removed]' : word)).join('').slice(0, 300);
}

/**
 * Where changes hand their events, inside their transaction. `quiet(now)`: known to have no
 * subscriber at all, so a change may skip building events (and take its one-statement path).
 */
export interface EventSink {
  queueEvents(trx: Trx, now: number, events: readonly DoormanEvent[]): Promise<void>;
  quiet(now: number): boolean;
}

/** No webhooks: every event is dropped without a query. */
export const NO_EVENTS: EventSink = {
  queueEvents: async () => undefined,
  quiet: () => true,
};
