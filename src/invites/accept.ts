import { recordAudit } from '../audit/audit.js';
import { inTransaction, isUniqueViolation, type Db, type Trx } from '../db/index.js';
import { checkPassword, hashPassword } from '../members/passwords.js';
import { requiredName } from '../members/model.js';
import { memberActor, type Member } from '../members/service.js';
import { AlreadyMember, LinkReplaced, MemberDeactivated, UnknownToken } from '../shared/errors.js';
import { invitationRow, requireNotMember, requireState, type InvitesContext } from './context.js';
import { toInvitation, type Invitation, type InvitationRow } from './model.js';
import { cancelWaitingEmails } from './sending.js';
import { TOKEN_PATTERN, tokenHash } from './tokens.js';
import { invitationEvent } from '../events/events.js';

export async function rowByToken(ctx: InvitesContext, db: Db | Trx, token: unknown): Promise<InvitationRow> {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw new UnknownToken();
  const hash = tokenHash(token);
  const row = await db<InvitationRow>('invitations').where({ token_hash: hash }).first();
  if (row && ctx.links.matches(row.token_nonce, token)) return row;
  // A 256-bit token whose hash a newer link replaced was that invitation's: no guess finds one. It
  // is told what became of the invitation; while it is open, that a newer email holds its link.
  const replaced = row ? undefined : ((await db('replaced_links').where({ token_hash: hash }).first('invitation_id')) as { invitation_id: string } | undefined);
  if (!replaced) throw new UnknownToken();
  const current = await invitationRow(db, replaced.invitation_id);
  if (current.status !== 'pending') requireState(current, ctx.clock.now(), []);
  throw new LinkReplaced();
}

/**
 * What the accept page shows for a token; refuses dead links with their own error, and an address
 * that became a member meanwhile (`doorman user create`), before anyone fills in the form. Changes nothing.
 */
export async function lookupToken(ctx: InvitesContext, token: unknown): Promise<Invitation> {
  const row = await rowByToken(ctx, ctx.db, token);
  const now = ctx.clock.now();
  await requireAccountAsLinkSays(ctx.db, row);
  requireState(row, now, ['pending']);
  return toInvitation(row, now);
}

/**
 * What the account behind a link says first, before the invitation's own state: an open link of an
 * address that is a member (before its expiry too: it is not offered a new invitation it could not
 * get), and a used link whose account was deactivated since (rather than "sign in", which would be refused).
 */
async function requireAccountAsLinkSays(db: Db, row: InvitationRow): Promise<void> {
  if (row.status === 'pending') await requireNotMember(db, row.email);
  if (row.status !== 'accepted' || !row.accepted_member_id) return;
  const member = (await db('members').where({ id: row.accepted_member_id }).first('state')) as { state: string } | undefined;
  if (member?.state === 'deactivated') throw new MemberDeactivated(row.accepted_member_id, row.email);
}

/** The invitation a token was accepted with, for the page an accept leads to; undefined while it is open. Other dead links are refused with their own error. */
export async function acceptedByToken(ctx: InvitesContext, token: unknown): Promise<Invitation | undefined> {
  const row = await rowByToken(ctx, ctx.db, token);
  const now = ctx.clock.now();
  await requireAccountAsLinkSays(ctx.db, row);
  requireState(row, now, ['pending', 'accepted']);
  return row.status === 'accepted' ? toInvitation(row, now) : undefined;
}

export interface AcceptInput {
  token: unknown;
  firstName?: unknown;
  lastName?: unknown;
  password: unknown;
}

/**
 * Accept: creates the member with the invitation's role (through the members service) and marks
 * the invitation accepted — exactly once, however many submissions race.
 */
export async function acceptInvitation(ctx: InvitesContext, input: AcceptInput): Promise<{ member: Member; invitation: Invitation }> {
  // The link first, as the page judges it before its form: a dead link is told so rather than sent
  // to fix fields it cannot use, and an unknown one is refused (and counted by the door as a guess)
  // whatever else came with it.
  const found = await rowByToken(ctx, ctx.db, input.token);
  requireState(found, ctx.clock.now(), ['pending']);
  // Refused before the hash, as the page refuses it before the form: such a link may be sent again and again.
  await requireNotMember(ctx.db, found.email);
  const firstName = requiredName(input.firstName, 'first_name');
  const lastName = requiredName(input.lastName, 'last_name');
  const password = checkPassword(input.password);
  // scrypt is slow on purpose: hash before the transaction so no lock waits on it.
  const passwordHash = await hashPassword(password);

  try {
    const result = await inTransaction(ctx.db, async (trx) => {
      const now = ctx.clock.now();
      const won = await trx('invitations')
        .where({ id: found.id, status: 'pending', token_hash: found.token_hash })
        .where('expires_at', '>', now)
        .update({ status: 'accepted', accepted_at: now, updated_at: now });
      // Read again now that it is ours: a role changed while the password was hashed is the one given.
      const row = await invitationRow(trx, found.id);
      if (won !== 1) {
        // Someone else got here first, or it changed meanwhile: say what it is now.
        if (row.token_hash === found.token_hash) requireState(row, now, ['pending']);
        throw new LinkReplaced();
      }
      const member = await ctx.members.admit(trx, { email: row.email, role: row.role, firstName, lastName, passwordHash }, now);
      await trx('invitations').where({ id: row.id }).update({ accepted_member_id: member.id });
      await cancelWaitingEmails(trx, [row.id], now, 'accepted');
      const actor = memberActor(member);
      await recordAudit(trx, now, actor, [{ action: 'accept', subjectType: 'invitation', subjectId: row.id, details: { email: row.email, member: member.id, role: row.role } }]);
      await ctx.events.queueEvents(trx, now, [invitationEvent('invite.accepted', row, actor, { member_id: member.id })]);
      const invitation = toInvitation({ ...row, accepted_member_id: member.id }, now);
      await ctx.onAccepted?.(trx, now, invitation, member);
      return { member, invitation };
    });
    ctx.onQueued();
    return result;
  } catch (error) {
    if (isUniqueViolation(error)) throw new AlreadyMember(found.email);
    throw error;
  }
}
