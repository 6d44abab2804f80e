import { forUpdate, type Db, type Trx } from '../db/index.js';
import { shownStatus, type InvitationRow } from './model.js';

/** An address's open invitation, as far as inviting it again needs it. */
export type OpenInvitation = Pick<InvitationRow, 'id' | 'email' | 'status' | 'expires_at' | 'send_count' | 'token_hash'>;

/**
 * Where an address stands for the rule "Skips": an active member (skipped), an open invitation that
 * is live (already invited), waiting for approval (skipped: only an approver moves it) or expired
 * (renewed with a new link), or nothing yet (a new invitation). The review and inviting itself read
 * it the same way, so the review shows what Send stores.
 */
export type Standing =
  | { kind: 'member' }
  | { kind: 'new' }
  | { kind: 'expired'; invitation: OpenInvitation }
  | { kind: 'invited'; invitation: OpenInvitation }
  | { kind: 'held'; invitation: OpenInvitation };

export interface StoredAddresses {
  members: ReadonlySet<string>;
  open: ReadonlyMap<string, OpenInvitation>;
}

/**
 * Which of these addresses are active members, and their open invitations (locked when `lock`, on
 * PostgreSQL). The invitations come first: a lock that waits on an accept under way ends when it
 * commits, and the members read after it then sees the new member (so the address is skipped, not
 * invited anew).
 */
export async function storedFor(db: Db | Trx, emails: readonly string[], options: { lock: boolean }): Promise<StoredAddresses> {
  const query = db<InvitationRow>('invitations').whereIn('email', emails).whereIn('status', ['pending', 'awaiting']).select('id', 'email', 'status', 'expires_at', 'send_count', 'token_hash');
  const open = (await (options.lock ? forUpdate(query) : query)) as OpenInvitation[];
  const members = (await db('members').whereIn('email', emails).where({ state: 'active' }).select('email')) as Array<{ email: string }>;
  return { members: new Set(members.map((m) => m.email)), open: new Map(open.map((row) => [row.email, row])) };
}

export function standingOf(email: string, stored: StoredAddresses, now: number): Standing {
  if (stored.members.has(email)) return { kind: 'member' };
  const invitation = stored.open.get(email);
  if (!invitation) return { kind: 'new' };
  const status = shownStatus(invitation, now);
  return status === 'expired' ? { kind: 'expired', invitation } : status === 'awaiting_approval' ? { kind: 'held', invitation } : { kind: 'invited', invitation };
}
