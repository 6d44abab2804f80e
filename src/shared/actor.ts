/** Who asked for a change: recorded in the audit log and on the invitation. */
export type Actor =
  | { type: 'slack'; slackUserId: string; memberId?: string; name?: string }
  | { type: 'member'; memberId: string; name?: string }
  | { type: 'system'; name?: string };

export const SYSTEM: Actor = { type: 'system' };

/** How the operator CLI's changes name their actor (`cli:` and the operating-system user). */
export const CLI_ACTOR_PREFIX = 'cli:';

/** The CLI's actor for an operating-system user, within the 80 characters an actor is stored in (a directory login may be longer). */
export function cliActor(user: string): Actor {
  return { type: 'system', name: `${CLI_ACTOR_PREFIX}${user.slice(0, 76)}` };
}

/** The longest name kept: a member's first or last name, a display name stored beside a change. */
export const MAX_NAME_CHARS = 200;

/**
 * A person's name as stored beside a change (who invited, who decided): whitespace folded, and a
 * name longer than the column (first and last name together may be) shortened with an ellipsis.
 */
export function storedName(name: string | null | undefined): string | null {
  const folded = name?.trim().replace(/\s+/g, ' ');
  if (!folded) return null;
  return folded.length <= MAX_NAME_CHARS ? folded : `${folded.slice(0, MAX_NAME_CHARS - 1)}…`;
}

/** A Slack user id as Slack writes it: `U…`, or `W…` in an Enterprise Grid. */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,30}$/;
/** A Slack channel id: `C…` (public) or `G…` (private). */
export const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;

/** The Slack user behind a change, when it was made in Slack. */
export function slackUserIdOf(actor: Actor): string | null {
  return actor.type === 'slack' ? actor.slackUserId : null;
}

/** The member behind a change, when known (a Slack user linked to one is that member). */
export function memberIdOf(actor: Actor): string | null {
  return actor.type === 'system' ? null : (actor.memberId ?? null);
}

export function actorId(actor: Actor): string | null {
  switch (actor.type) {
    case 'slack':
      return actor.slackUserId;
    case 'member':
      return actor.memberId;
    case 'system':
      return actor.name ?? null;
  }
}

/** Compact form kept on a row (e.g. `revoked_by`): `slack:U123`, `member:usr_…`, `system`. */
export function actorRef(actor: Actor): string {
  return actor.type === 'system' ? 'system' : `${actor.type}:${actorId(actor)}`;
}

/** The actor a compact form names (`actorRef` read back); anything else is the system. */
export function actorFromRef(ref: string | null | undefined): Actor {
  if (ref?.startsWith('slack:')) return { type: 'slack', slackUserId: ref.slice('slack:'.length) };
  if (ref?.startsWith('member:')) return { type: 'member', memberId: ref.slice('member:'.length) };
  return SYSTEM;
}
