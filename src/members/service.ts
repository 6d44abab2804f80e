import { recordAudit, type AuditEntry } from '../audit/audit.js';
import { forUpdate, inTransaction, isUniqueViolation, type Db, type Trx } from '../db/index.js';
import { normalizeEmail } from '../invites/email-list.js';
import { newApiToken, tokenHash } from '../invites/tokens.js';
import { SLACK_USER_ID, type Actor } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { AlreadyMember, InvalidCredentials, InvalidInput, LastAdmin, MemberDeactivated, NotFound } from '../shared/errors.js';
import { isIdOf, newId } from '../shared/ids.js';
import { memberEvent, NO_EVENTS, type EventSink } from '../events/events.js';
import { listMembers, type MemberQuery } from './listing.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { Role } from './roles.js';
import { cleanName, displayName, requireEmail, requireRole, toMember, type Member, type MemberRow } from './model.js';

export * from './model.js';
export { MAX_MEMBERS_PAGE } from './listing.js';

export interface CreateMemberInput {
  email: string;
  role?: Role;
  firstName?: string | null;
  lastName?: string | null;
  password?: string;
  withApiToken?: boolean;
  slackUserId?: string;
}

export class MembersService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** Where role changes and deactivations queue their events (webhooks). */
    private readonly events: EventSink = NO_EVENTS,
    /** Called after a role change or deactivation commits, so a worker in this process starts at once on what it queued (a wasted call is one claim). */
    private readonly onQueued: () => void = () => undefined,
  ) {}

  /** Creates a member directly (bootstrap, CLI). The API token, if asked for, is shown only here. */
  async create(input: CreateMemberInput, actor: Actor): Promise<{ member: Member; apiToken?: string }> {
    const email = requireEmail(input.email);
    const role = requireRole(input.role ?? 'member');
    const firstName = cleanName(input.firstName, 'first_name');
    const lastName = cleanName(input.lastName, 'last_name');
    const slackUserId = input.slackUserId === undefined ? null : requireSlackUserId(input.slackUserId);
    const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
    const apiToken = input.withApiToken ? newApiToken() : undefined;
    const now = this.clock.now();
    const row: MemberRow = {
      id: newId('usr'),
      email,
      first_name: firstName,
      last_name: lastName,
      password_hash: passwordHash,
      role,
      state: 'active',
      api_token_hash: apiToken ? tokenHash(apiToken) : null,
      slack_user_id: slackUserId,
      created_at: now,
      updated_at: now,
      deactivated_at: null,
    };
    try {
      await inTransaction(this.db, async (trx) => {
        await trx('members').insert(row);
        // What the new account starts with is audited as it would be when given later (the rule "Audit").
        await recordAudit(trx, now, actor, [
          { action: 'member_create', subjectType: 'member', subjectId: row.id, details: { email, role } },
          ...(apiToken ? [{ action: 'api_token_issue' as const, subjectType: 'member' as const, subjectId: row.id }] : []),
          ...(slackUserId ? [{ action: 'slack_link' as const, subjectType: 'member' as const, subjectId: row.id, details: { slackUserId } }] : []),
        ]);
        await this.events.queueEvents(trx, now, [memberEvent('member.created', row, actor), ...(apiToken ? [memberEvent('member.api_token_issued', row, actor)] : [])]);
      });
      this.onQueued();
    } catch (error) {
      // Two columns are unique: say which one this member collided on.
      if (!isUniqueViolation(error)) throw error;
      const holder = await this.findByEmail(email);
      if (holder?.state === 'deactivated') {
        throw new InvalidInput(`${email} belongs to a deactivated member; invite the address to bring them back (their account starts clean).`, 'email');
      }
      throw holder || !slackUserId ? new AlreadyMember(email) : slackUserTaken(slackUserId);
    }
    return { member: toMember(row), apiToken };
  }

  async get(id: string): Promise<Member> {
    const member = await this.find(id);
    if (!member) throw new NotFound('member', id);
    return member;
  }

  async find(id: string): Promise<Member | undefined> {
    if (!isIdOf('usr', id)) return undefined;
    const row = await this.db<MemberRow>('members').where({ id }).first();
    return row ? toMember(row) : undefined;
  }

  /** The member with this address, in any state; NotFound naming the address otherwise (the CLI's lookups). */
  async getByEmail(email: string): Promise<Member> {
    const member = await this.findByEmail(email);
    if (!member) throw new NotFound('member', email, 'email');
    return member;
  }

  async findByEmail(email: string): Promise<Member | undefined> {
    const normalized = normalizeEmail(email);
    if ('reason' in normalized) return undefined;
    const row = await this.db<MemberRow>('members').where({ email: normalized.email }).first();
    return row ? toMember(row) : undefined;
  }

  async findBySlackUserId(slackUserId: string): Promise<Member | undefined> {
    const row = await this.db<MemberRow>('members').where({ slack_user_id: slackUserId }).first();
    return row ? toMember(row) : undefined;
  }

  /** The active member an API token belongs to (the token is looked up by its hash). */
  async findByApiToken(token: string): Promise<Member | undefined> {
    if (typeof token !== 'string' || token.length < 10 || token.length > 200) return undefined;
    const row = await this.db<MemberRow>('members').where({ api_token_hash: tokenHash(token), state: 'active' }).first();
    return row ? toMember(row) : undefined;
  }

  /** One page of members matching the query, and how many match in all. */
  list(query: MemberQuery = {}): Promise<{ members: Member[]; total: number }> {
    return listMembers(this.db, query);
  }

  /** Checks a password; wrong email, wrong password and deactivated accounts all answer the same. */
  async verifyCredentials(email: string, password: string): Promise<Member> {
    const normalized = normalizeEmail(typeof email === 'string' ? email : '');
    const row = 'email' in normalized ? await this.db<MemberRow>('members').where({ email: normalized.email }).first() : undefined;
    const ok = await verifyPassword(row?.password_hash ?? null, typeof password === 'string' ? password : '');
    if (!row || !ok || row.state !== 'active') throw new InvalidCredentials();
    return toMember(row);
  }

  async setRole(id: string, role: Role, actor: Actor): Promise<Member> {
    requireRole(role);
    const member = await inTransaction(this.db, async (trx) => {
      const row = await this.lockMember(trx, id);
      if (row.state !== 'active') throw new MemberDeactivated(id);
      if (row.role === role) return toMember(row);
      if (row.role === 'admin') await this.ensureAnotherAdmin(trx, id);
      const now = this.clock.now();
      await trx('members').where({ id }).update({ role, updated_at: now });
      await recordAudit(trx, now, actor, [{ action: 'role_change', subjectType: 'member', subjectId: id, details: { from: row.role, to: role } }]);
      await this.events.queueEvents(trx, now, [memberEvent('member.role_changed', { ...row, role }, actor, { previous_role: row.role })]);
      return toMember({ ...row, role, updated_at: now });
    });
    this.onQueued();
    return member;
  }

  /**
   * `unlessDeactivatedSince` (when a list showing the member was drawn): a member deactivated since
   * and back through a new invitation is not deactivated from that list, unseen.
   */
  async deactivate(id: string, actor: Actor, options: { unlessDeactivatedSince?: number } = {}): Promise<Member> {
    const member = await inTransaction(this.db, async (trx) => {
      const row = await this.lockMember(trx, id);
      if (row.state === 'deactivated') return toMember(row);
      const since = options.unlessDeactivatedSince;
      if (since !== undefined && (await trx('audit_log').where({ subject_type: 'member', subject_id: id, action: 'deactivate' }).andWhere('at', '>=', since).first('id'))) {
        throw new InvalidInput(`${displayName(toMember(row))} was deactivated and came back since this list was drawn, so nothing was changed; deactivate them again if you still mean to.`);
      }
      if (row.role === 'admin') await this.ensureAnotherAdmin(trx, id);
      const now = this.clock.now();
      // Deactivation ends everything the account had: its API token, its sessions and Bearer tokens,
      // and its Slack link (the person may come back with another account; nothing is sent to them).
      const ended = { state: 'deactivated' as const, deactivated_at: now, updated_at: now, api_token_hash: null, slack_user_id: null, session_version: Number(row.session_version ?? 0) + 1 };
      await trx('members').where({ id }).update(ended);
      await recordAudit(trx, now, actor, [{ action: 'deactivate', subjectType: 'member', subjectId: id, ...(row.slack_user_id ? { details: { slackUserId: row.slack_user_id } } : {}) }]);
      await this.events.queueEvents(trx, now, [memberEvent('member.deactivated', { ...row, ...ended }, actor)]);
      return toMember({ ...row, ...ended });
    });
    this.onQueued();
    return member;
  }

  /** Issues a new API token (replacing any older one); it is returned once and stored hashed. */
  async issueApiToken(id: string, actor: Actor): Promise<string> {
    const token = newApiToken();
    await inTransaction(this.db, async (trx) => {
      const row = await this.lockMember(trx, id);
      if (row.state !== 'active') throw new MemberDeactivated(id);
      const now = this.clock.now();
      await trx('members').where({ id }).update({ api_token_hash: tokenHash(token), updated_at: now });
      await recordAudit(trx, now, actor, [{ action: 'api_token_issue', subjectType: 'member', subjectId: id }]);
      await this.events.queueEvents(trx, now, [memberEvent('member.api_token_issued', row, actor)]);
    });
    this.onQueued();
    return token;
  }

  /** Ends the member's API token (a leaked one, say); false when they had none. Sessions stay. */
  async revokeApiToken(id: string, actor: Actor): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const row = await this.lockMember(trx, id);
      if (!row.api_token_hash) return false;
      const now = this.clock.now();
      await trx('members').where({ id }).update({ api_token_hash: null, updated_at: now });
      await recordAudit(trx, now, actor, [{ action: 'api_token_revoke', subjectType: 'member', subjectId: id }]);
      await this.events.queueEvents(trx, now, [memberEvent('member.api_token_revoked', row, actor)]);
      return true;
    }).then((revoked) => {
      if (revoked) this.onQueued();
      return revoked;
    });
  }

  /**
   * The member an accepted invitation makes, inside the accepting transaction: a new member, or a
   * former (deactivated) one coming back with the new details. A comeback ends every session,
   * token and Slack link of before: the address may now belong to someone else.
   */
  async admit(trx: Trx, invitee: { email: string; role: Role; firstName: string | null; lastName: string | null; passwordHash: string }, now: number): Promise<Member> {
    const existing = await trx<MemberRow>('members').where({ email: invitee.email }).first();
    if (existing && existing.state === 'active') throw new AlreadyMember(invitee.email);
    const fields = { first_name: invitee.firstName, last_name: invitee.lastName, password_hash: invitee.passwordHash, role: invitee.role, state: 'active' as const, updated_at: now };
    if (existing) {
      const comeback = { ...fields, deactivated_at: null, api_token_hash: null, slack_user_id: null, session_version: Number(existing.session_version ?? 0) + 1 };
      await trx('members').where({ id: existing.id }).update(comeback);
      return toMember({ ...existing, ...comeback });
    }
    const row: MemberRow = { id: newId('usr'), email: invitee.email, api_token_hash: null, slack_user_id: null, created_at: now, deactivated_at: null, ...fields };
    await trx('members').insert(row);
    return toMember(row);
  }

  /** Ends every browser session of the member issued so far. */
  async endSessions(id: string): Promise<void> {
    await this.db('members').where({ id }).increment('session_version', 1).update({ updated_at: this.clock.now() });
  }

  /**
   * Links a Slack user to a member who has none yet (first contact, by a verified profile).
   * Answers false when the member got a link meanwhile or the Slack user is another member's.
   */
  async linkSlackUser(id: string, slackUserId: string, actor: Actor): Promise<boolean> {
    try {
      return await inTransaction(this.db, async (trx) => {
        const now = this.clock.now();
        const linked = await trx('members').where({ id, state: 'active' }).whereNull('slack_user_id').update({ slack_user_id: slackUserId, updated_at: now });
        if (linked !== 1) return false;
        await recordAudit(trx, now, actor, [{ action: 'slack_link', subjectType: 'member', subjectId: id, details: { slackUserId } }]);
        return true;
      });
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Records that a Slack user was refused a member's identity (the member keeps their link). */
  async refuseSlackLink(id: string, slackUserId: string, reason: string): Promise<void> {
    await inTransaction(this.db, (trx) =>
      recordAudit(trx, this.clock.now(), { type: 'system', name: 'slack identity' }, [{ action: 'slack_link_refused', subjectType: 'member', subjectId: id, details: { slackUserId, reason } }]),
    );
  }

  /** The explicit re-link (operator): the member's Slack user becomes `slackUserId`, or none. */
  async setSlackUser(id: string, slackUserId: string | null, actor: Actor): Promise<Member> {
    if (slackUserId !== null) requireSlackUserId(slackUserId);
    try {
      return await inTransaction(this.db, async (trx) => {
        const row = await this.lockMember(trx, id);
        if (slackUserId && row.state !== 'active') throw new InvalidInput(`${row.email} is deactivated; bring them back (a new invitation) before linking a Slack user`, 'slack_user');
        // Nothing to change (an unlink of a member without a link): nothing recorded either.
        if (slackUserId === row.slack_user_id) return toMember(row);
        const now = this.clock.now();
        // The Slack user moves off the member who held it; that member's history says so too.
        const displaced = slackUserId ? ((await trx('members').where({ slack_user_id: slackUserId }).whereNot({ id }).pluck('id')) as string[]) : [];
        if (displaced.length) await trx('members').whereIn('id', displaced).update({ slack_user_id: null, updated_at: now });
        await trx('members').where({ id }).update({ slack_user_id: slackUserId, updated_at: now });
        await recordAudit(trx, now, actor, [
          ...displaced.map((other): AuditEntry => ({ action: 'slack_unlink', subjectType: 'member', subjectId: other, details: { slackUserId: null, previous: slackUserId, movedTo: id } })),
          { action: slackUserId ? 'slack_link' : 'slack_unlink', subjectType: 'member', subjectId: id, details: { slackUserId, previous: row.slack_user_id } } satisfies AuditEntry,
        ]);
        return toMember({ ...row, slack_user_id: slackUserId, updated_at: now });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw slackUserTaken(slackUserId!);
      throw error;
    }
  }

  private async lockMember(trx: Trx, id: string): Promise<MemberRow> {
    const row = await forUpdate(trx<MemberRow>('members').where({ id })).first();
    if (!row) throw new NotFound('member', id);
    return row;
  }

  /** Never leave the organization without an active admin. */
  private async ensureAnotherAdmin(trx: Trx, exceptId: string): Promise<void> {
    // Lock the admin rows so two concurrent demotions cannot both pass this check.
    const others = await forUpdate(trx('members').where({ role: 'admin', state: 'active' }).whereNot({ id: exceptId })).select('id');
    if (others.length === 0) throw new LastAdmin();
  }
}

function requireSlackUserId(slackUserId: string): string {
  if (!SLACK_USER_ID.test(slackUserId)) throw new InvalidInput('give a Slack user id like U024BE7LH', 'slack_user');
  return slackUserId;
}

function slackUserTaken(slackUserId: string): InvalidInput {
  return new InvalidInput(`${slackUserId} is linked to another member.`, 'slack_user');
}
