import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { recordAudit, type AuditEntry } from '../audit/audit.js';
import { bulkInsert, type ColumnTypes } from '../db/bulk-insert.js';
import { ReadCoalescer } from '../db/coalesce.js';
import { StatementQueue } from '../db/statement-queue.js';
import { analyzeNow, chunked, forUpdate, inTransaction, isUniqueViolation, serializeOn, type Db, type Trx } from '../db/index.js';
import { checkPassword, hashPassword } from '../members/passwords.js';
import type { Role } from '../members/roles.js';
import { cleanName, requireRole, toMember, type Member, type MemberRow } from '../members/service.js';
import { enqueue, type OutboxMessage } from '../outbox/outbox.js';
import { actorRef, type Actor } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import {
  AlreadyMember,
  describeError,
  DomainError,
  InvalidInput,
  InvitationAccepted,
  InvitationExpired,
  InvitationNotExpired,
  InvitationRevoked,
  NotFound,
  UnknownToken,
} from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { MAX_LIST_CHARS, parseEmailList } from './email-list.js';
import { shownStatus, toInvitation, type Invitation, type InvitationRow, type InviteSummary, type ShownStatus } from './model.js';
import { deriveToken, issueToken, TOKEN_PATTERN, tokenHash, tokenMatches } from './tokens.js';

export const INVITE_EMAIL = 'invite_email';
/** Advisory lock id taken by every transaction that creates pending invitations. */
const INVITE_LOCK = 0x646f6f72;

/** What the invitation email worker needs to know to build the message at delivery time. */
export interface InviteEmailPayload {
  invitationId: string;
  /** The token generation the email is for; a newer one makes this email obsolete. */
  nonce: string;
  reason: 'invite' | 'resend' | 'new_invitation';
}

export interface InvitesSettings {
  appSecret: string;
  publicUrl: string;
  inviteTtlMs: number;
  /** Where a failed ANALYZE after a large list is reported (it fails nothing). */
  logger?: Pick<Logger, 'warn'>;
}

export type SortKey = 'email' | 'status' | 'created' | 'expires';
/** `open`: pending and expired together — the invitations an admin can still act on. */
export type StatusFilter = ShownStatus | 'open' | 'all';

export interface ListQuery {
  status?: StatusFilter;
  sort?: SortKey;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
  /** From a previous page's `nextCursor`; takes precedence over `offset`. */
  cursor?: string;
  /** A fragment of the email address. */
  search?: string;
  /** Include the accept token of live pending invitations (for admins: the admin API's `token`). */
  withTokens?: boolean;
}

export interface ListPage {
  invitations: Invitation[];
  total: number;
  limit: number;
  offset: number;
  nextCursor: string | null;
}

export type StatusCounts = Record<ShownStatus | 'all', number>;

export interface DeliveryProgress {
  total: number;
  sent: number;
  failing: number;
}

/** Hooks for what other parts want to add to an invitation change (e.g. Slack notices). */
export interface InviteEvents {
  accepted?(trx: Trx, now: number, invitation: Invitation, member: Member): Promise<void>;
}

/**
 * Addresses read and written per step of invite-many: large enough that statements are few,
 * small enough that making one batch's tokens overlaps storing the one before.
 */
const INVITE_BATCH = 2_000;

export type NewInvitationRow = Pick<
  InvitationRow,
  | 'id' | 'email' | 'role' | 'status' | 'token_hash' | 'token_nonce' | 'expires_at' | 'invited_by_member_id' | 'invited_by_slack_user_id'
  | 'invited_by_name' | 'created_at' | 'updated_at' | 'last_sent_at' | 'send_count' | 'delivery_state'
>;
export const NEW_INVITATION_COLUMNS: ColumnTypes<NewInvitationRow> = {
  id: 'text',
  email: 'text',
  role: 'text',
  status: 'text',
  token_hash: 'text',
  token_nonce: 'text',
  expires_at: 'bigint',
  invited_by_member_id: 'text',
  invited_by_slack_user_id: 'text',
  invited_by_name: 'text',
  created_at: 'bigint',
  updated_at: 'bigint',
  last_sent_at: 'bigint',
  send_count: 'integer',
  delivery_state: 'text',
};

const SORT_COLUMNS: Record<Exclude<SortKey, 'status'>, string> = { email: 'email', created: 'created_at', expires: 'expires_at' };
export const MAX_PAGE = 500;
/** A list that queues at least this many emails has PostgreSQL count its rows at once (below). */
export const ANALYZE_AFTER = 10_000;

export class InvitesService {
  /** Called after a transaction queued mail, so a worker in this process can start at once. */
  onQueued: () => void = () => undefined;
  events: InviteEvents = {};
  private readonly reads: ReadCoalescer;

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly settings: InvitesSettings) {
    // Concurrent identical reads share one query, never one older than a write this process finished.
    this.reads = new ReadCoalescer(db);
  }

  /** The accept link for the invitation's current token. */
  linkFor(row: Pick<InvitationRow, 'token_nonce'>): string {
    return `${this.settings.publicUrl}/invite?token=${deriveToken(this.settings.appSecret, row.token_nonce)}`;
  }

  // ---------------------------------------------------------------- invite many

  /**
   * Invites every address in a pasted list (Rules 1–2) in one transaction and answers with one
   * summary: new invitations, renewed expired ones, and each skipped or invalid entry with why.
   */
  async inviteMany(input: { emails: string | readonly string[]; role?: Role; actor: Actor; inviterMemberId?: string | null; inviterName?: string | null }): Promise<InviteSummary> {
    const text = typeof input.emails === 'string' ? input.emails : input.emails.join('\n');
    if (text.length > MAX_LIST_CHARS) throw new InvalidInput(`The list is too long (more than ${MAX_LIST_CHARS.toLocaleString('en')} characters).`, 'emails');
    const role = requireRole(input.role ?? 'member');
    const parsed = parseEmailList(text);
    if (parsed.emails.length === 0 && parsed.invalid.length === 0) throw new InvalidInput('No email addresses were given.', 'emails');

    for (let attempt = 1; ; attempt++) {
      try {
        const summary = await inTransaction(this.db, (trx) => this.inviteAll(trx, parsed.emails, role, input));
        if (summary.invitationIds.length >= ANALYZE_AFTER) await this.analyzeAfterBulkLoad();
        if (summary.invitationIds.length > 0) this.onQueued();
        return { ...summary, invalid: parsed.invalid };
      } catch (error) {
        // Another request invited one of these addresses at the same moment: run again, and it
        // shows up as "already invited".
        if (attempt < 3 && isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  /**
   * PostgreSQL (`analyzeNow`) plans by statistics that autovacuum refreshes only a minute or more after a bulk
   * load: until then, with tens of thousands of rows it has never counted, it reads the whole
   * backlog (and sorts it on disk) for every batch the outbox worker claims (~90 ms each with 200,000
   * queued, ~10 ms once analyzed), and guesses as badly for the lists. So a large list is counted
   * at once, before its emails start. It waits at most 2 s for its lock (a running VACUUM or
   * ANALYZE holds it), and a failure fails nothing: the invitations are stored, and autovacuum
   * counts them later all the same.
   */
  private async analyzeAfterBulkLoad(): Promise<void> {
    try {
      await analyzeNow(this.db, ['invitations', 'outbox']);
    } catch (error) {
      this.settings.logger?.warn({ error: describeError(error) }, 'could not analyze the invitations and the outbox after a large list; autovacuum will');
    }
  }

  private async inviteAll(
    trx: Trx,
    emails: string[],
    role: Role,
    input: { actor: Actor; inviterMemberId?: string | null; inviterName?: string | null },
  ): Promise<InviteSummary> {
    // Concurrent requests with overlapping lists would otherwise both see "not invited" and one
    // would fail on the one-pending-per-email index; taking turns makes the later one answer
    // "already invited".
    await serializeOn(trx, INVITE_LOCK);
    const now = this.clock.now();
    const summary: InviteSummary = { sent: [], renewed: [], alreadyMember: [], alreadyInvited: [], invalid: [], invitationIds: [] };
    const inviter = this.inviterColumns(input);
    const renewedIds: string[] = [];
    // Each batch's writes are queued, not waited for: the database stores one batch while the next
    // one's tokens are made. The queue keeps every statement in order on the connection.
    const statements = new StatementQueue();
    const batches = chunked(emails, INVITE_BATCH);
    try {
      const read = (i: number) => (i < batches.length ? statements.run(() => this.storedFor(trx, batches[i]!)) : undefined);
      let stored = read(0);
      for (let i = 0; stored; i++) {
        const batch = batches[i]!;
        const { memberEmails, pendingByEmail } = await stored;
        // The next batch is read while this one's tokens are made.
        stored = read(i + 1);
        const fresh: NewInvitationRow[] = [];
        const mail: OutboxMessage[] = [];
        const audit: AuditEntry[] = [];

        for (const email of batch) {
          if (memberEmails.has(email)) {
            summary.alreadyMember.push(email);
            continue;
          }
          const existing = pendingByEmail.get(email);
          if (existing && shownStatus(existing, now) === 'pending') {
            summary.alreadyInvited.push({ email, invitationId: existing.id });
            continue;
          }
          const token = issueToken(this.settings.appSecret);
          if (existing) {
            // Expired: the same invitation gets a new link (the old one stays dead) and a new expiry.
            const update = { ...inviter, role, ...this.newLinkColumns(existing, token, now) };
            void statements.run(() => trx('invitations').where({ id: existing.id }).update(update));
            summary.renewed.push(email);
            renewedIds.push(existing.id);
            mail.push(inviteEmail(existing.id, token.nonce, 'new_invitation'));
            audit.push({ action: 'new_invitation', subjectType: 'invitation', subjectId: existing.id, details: { email, role } });
            continue;
          }
          const id = newId('invite');
          fresh.push({
            id,
            email,
            role,
            status: 'pending',
            token_hash: token.hash,
            token_nonce: token.nonce,
            expires_at: now + this.settings.inviteTtlMs,
            ...inviter,
            created_at: now,
            updated_at: now,
            last_sent_at: now,
            send_count: 1,
            delivery_state: 'queued',
          });
          summary.sent.push(email);
          summary.invitationIds.push(id);
          mail.push(inviteEmail(id, token.nonce, 'invite'));
          audit.push({ action: 'invite', subjectType: 'invitation', subjectId: id, details: { email, role } });
        }
        if (fresh.length) void statements.run(() => bulkInsert(trx, 'invitations', NEW_INVITATION_COLUMNS, fresh));
        if (mail.length) void statements.run(() => enqueue(trx, now, mail));
        if (audit.length) void statements.run(() => recordAudit(trx, now, input.actor, audit));
      }
    } finally {
      // Nothing may still be running on the connection when the transaction commits or rolls back.
      await statements.settled();
    }
    await statements.drained();
    summary.invitationIds.push(...renewedIds);
    return summary;
  }

  /** Which of these addresses are active members, and their pending invitations (locked). */
  private async storedFor(trx: Trx, emails: string[]) {
    const members = await trx('members').whereIn('email', emails).where({ state: 'active' }).select('email');
    const pending = await forUpdate(
      trx<InvitationRow>('invitations').whereIn('email', emails).where({ status: 'pending' }).select('id', 'email', 'status', 'expires_at', 'send_count'),
    );
    return {
      memberEmails: new Set(members.map((m: { email: string }) => m.email)),
      pendingByEmail: new Map(pending.map((row) => [row.email, row])),
    };
  }

  /** Rule 4 as columns: a new token (the old link dies), a new expiry (past the sweep's marks: notices re-armed), mail queued. */
  private newLinkColumns(row: Pick<InvitationRow, 'send_count'>, token: { hash: string; nonce: string }, now: number) {
    return {
      token_hash: token.hash,
      token_nonce: token.nonce,
      expires_at: now + this.settings.inviteTtlMs,
      last_sent_at: now,
      send_count: Number(row.send_count) + 1,
      updated_at: now,
      delivery_state: 'queued' as const,
      delivery_error: null,
    };
  }

  private inviterColumns(input: { actor: Actor; inviterMemberId?: string | null; inviterName?: string | null }) {
    const actor = input.actor;
    return {
      invited_by_member_id: input.inviterMemberId ?? (actor.type === 'member' ? actor.memberId : actor.type === 'slack' ? actor.memberId ?? null : null),
      invited_by_slack_user_id: actor.type === 'slack' ? actor.slackUserId : null,
      // The name shown in emails: a person's, never a system actor's label.
      invited_by_name: input.inviterName ?? (actor.type === 'system' ? null : actor.name) ?? null,
    };
  }

  // ---------------------------------------------------------------- reading

  async get(id: string): Promise<Invitation> {
    return toInvitation(await this.row(this.db, id), this.clock.now());
  }

  /** Several invitations by id, in the order asked for; ids that do not exist are left out. */
  async getMany(ids: readonly string[]): Promise<Invitation[]> {
    const now = this.clock.now();
    const byId = new Map<string, Invitation>();
    for (const chunk of chunked(ids, 400)) {
      for (const row of await this.db<InvitationRow>('invitations').whereIn('id', chunk)) byId.set(row.id, toInvitation(row, now));
    }
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async list(query: ListQuery = {}): Promise<ListPage> {
    const { counts: _counts, ...page } = await this.listWithCounts(query);
    return page;
  }

  /** A page and the counts per status, read together (what the Invitations table and App Home show). */
  async listWithCounts(query: ListQuery = {}): Promise<ListPage & { counts: StatusCounts }> {
    // Many admins (or one busy table) asking for the same page at once share one read.
    const page = await this.reads.run(`list:${JSON.stringify(query)}`, () => this.readPage(query));
    return { ...page, invitations: [...page.invitations], counts: { ...page.counts } };
  }

  private async readPage(query: ListQuery): Promise<ListPage & { counts: StatusCounts }> {
    const now = this.clock.now();
    const limit = Math.max(1, Math.min(query.limit ?? 25, MAX_PAGE));
    const sort = query.sort ?? 'created';
    const order = query.order ?? (sort === 'created' || sort === 'expires' ? 'desc' : 'asc');
    const cursor = decodeCursor(query.cursor, sort, order);
    let offset = cursor && 'offset' in cursor ? cursor.offset : Math.max(0, query.offset ?? 0);

    // Ordered by anything but expiry, the page walks the index of its sort column and checks the
    // expiry on the way: the first page costs a few rows however many are stored.
    const page = this.filtered(query, now, { expiryIndexed: sort === 'expires' });
    if (sort === 'status') {
      page.orderByRaw(`${statusRankSql} ${order}, created_at desc, id desc`, [now]).offset(offset);
    } else {
      const column = SORT_COLUMNS[sort];
      if (cursor && 'value' in cursor) {
        // Keyset paging: constant time however deep the page.
        const op = order === 'asc' ? '>' : '<';
        page.where((q) => q.where(column, op, cursor.value).orWhere((q2) => q2.where(column, '=', cursor.value).andWhere('id', op, cursor.id)));
        offset = cursor.position;
      } else page.offset(offset);
      page.orderBy([{ column, order }, { column: 'id', order }]);
    }
    const [rows, counts, searched] = await Promise.all([
      page.limit(limit + 1) as Promise<InvitationRow[]>,
      this.readCounts(),
      query.search?.trim() ? this.filtered(query, now).count<{ n: number | string }[]>({ n: '*' }) : undefined,
    ]);
    const status = query.status ?? 'all';
    // The tallies give the total, unless a search narrows the list (then it is counted).
    const total = searched ? Number(searched[0]?.n ?? 0) : status === 'open' ? counts.pending + counts.expired : counts[status];
    const more = rows.length > limit;
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    let nextCursor: string | null = null;
    if (more && last) {
      nextCursor =
        sort === 'status'
          ? encodeCursor({ offset: offset + limit })
          : encodeCursor({ sort, order, value: last[SORT_COLUMNS[sort] as keyof InvitationRow] as string | number, id: last.id, position: offset + limit });
    }
    const view = (row: InvitationRow): Invitation => {
      const invitation = toInvitation(row, now);
      return query.withTokens && invitation.status === 'pending' ? { ...invitation, token: deriveToken(this.settings.appSecret, row.token_nonce) } : invitation;
    };
    return { invitations: items.map(view), total, limit, offset, nextCursor, counts };
  }

  /**
   * The list's filter. `expiryIndexed: false` keeps the expiry check from steering SQLite's
   * planner onto the expiry index (which would read every pending row and sort them) when the
   * page is ordered by another column; the unary plus changes nothing else.
   */
  private filtered(query: ListQuery, now: number, options: { expiryIndexed?: boolean } = {}): Knex.QueryBuilder<InvitationRow, InvitationRow[]> {
    const q = this.db<InvitationRow>('invitations');
    const expiry = options.expiryIndexed === false ? '+expires_at' : 'expires_at';
    switch (query.status ?? 'all') {
      case 'pending':
        q.where({ status: 'pending' }).whereRaw(`${expiry} > ?`, [now]);
        break;
      case 'expired':
        q.where({ status: 'pending' }).whereRaw(`${expiry} <= ?`, [now]);
        break;
      case 'open':
        q.where({ status: 'pending' });
        break;
      case 'accepted':
        q.where({ status: 'accepted' });
        break;
      case 'revoked':
        q.where({ status: 'revoked' });
        break;
      case 'all':
        break;
      default:
        throw new InvalidInput(`Unknown status "${String(query.status)}"; use pending, expired, open, accepted, revoked or all.`, 'status');
    }
    const search = query.search?.trim().toLowerCase();
    if (search) {
      if (search.length > 320) throw new InvalidInput('The search text is too long.', 'search');
      q.whereRaw(`email LIKE ? ESCAPE '\\'`, [`%${search.replace(/[\\%_]/g, (c) => '\\' + c)}%`]);
    }
    return q as unknown as Knex.QueryBuilder<InvitationRow, InvitationRow[]>;
  }

  /**
   * Invitations per shown status. Stored statuses come from `invitation_tallies` (kept by
   * triggers, see its migration); live pending ones are counted (there are at most as many as were
   * sent within one TTL), and the rest of pending is expired. One statement, so one snapshot.
   */
  async counts(): Promise<StatusCounts> {
    return { ...(await this.reads.run('counts', () => this.readCounts())) };
  }

  private async readCounts(): Promise<StatusCounts> {
    const now = this.clock.now();
    const rows = (await this.db('invitation_tallies').select(
      'status',
      'n',
      this.db.raw(`(SELECT count(*) FROM invitations WHERE status = 'pending' AND expires_at > ?) AS live`, [now]),
    )) as Array<{ status: string; n: number | string; live: number | string }>;
    const counts: StatusCounts = { pending: 0, expired: 0, accepted: 0, revoked: 0, all: 0 };
    for (const row of rows) {
      const n = Number(row.n);
      counts.all += n;
      if (row.status === 'pending') {
        const live = Number(row.live);
        counts.pending += live;
        counts.expired += n - live;
      } else if (row.status === 'accepted' || row.status === 'revoked') counts[row.status] += n;
    }
    return counts;
  }

  /** How far the emails of a batch got: of `total` invitations, how many were sent or are failing. */
  async deliveryProgress(invitationIds: readonly string[]): Promise<DeliveryProgress> {
    const progress: DeliveryProgress = { total: invitationIds.length, sent: 0, failing: 0 };
    for (const ids of chunked(invitationIds, 400)) {
      const rows = (await this.db('invitations').whereIn('id', ids).select('delivery_state').count({ n: '*' }).groupBy('delivery_state')) as Array<{ delivery_state: string; n: number | string }>;
      for (const row of rows) {
        if (row.delivery_state === 'sent') progress.sent += Number(row.n);
        if (row.delivery_state === 'failing') progress.failing += Number(row.n);
      }
    }
    return progress;
  }

  // ---------------------------------------------------------------- changes to one invitation

  /** Rule 3: email the same link again and push the expiry to now + TTL. Pending only. */
  async resend(id: string, actor: Actor): Promise<Invitation> {
    return this.change(id, async (trx, row, now) => {
      this.requireState(row, now, ['pending']);
      // The expiry moves past the sweep's marks, so a reminder before the new expiry is due again.
      const update = { expires_at: now + this.settings.inviteTtlMs, last_sent_at: now, send_count: Number(row.send_count) + 1, updated_at: now, delivery_state: 'queued', delivery_error: null };
      await trx('invitations').where({ id }).update(update);
      await enqueue(trx, now, [inviteEmail(id, row.token_nonce, 'resend')]);
      await recordAudit(trx, now, actor, [{ action: 'resend', subjectType: 'invitation', subjectId: id, details: { email: row.email } }]);
      return { ...row, ...update } as InvitationRow;
    });
  }

  /** Rule 4: an expired invitation gets a new token (the old link stays dead), a new expiry, an email. */
  async sendNewInvitation(id: string, actor: Actor): Promise<Invitation> {
    return this.change(id, async (trx, row, now) => {
      this.requireState(row, now, ['expired']);
      const token = issueToken(this.settings.appSecret);
      const update = this.newLinkColumns(row, token, now);
      await trx('invitations').where({ id }).update(update);
      await enqueue(trx, now, [inviteEmail(id, token.nonce, 'new_invitation')]);
      await recordAudit(trx, now, actor, [{ action: 'new_invitation', subjectType: 'invitation', subjectId: id, details: { email: row.email } }]);
      return { ...row, ...update } as InvitationRow;
    });
  }

  /** Send new invitation for each of these that is still expired; the others are left as they are. */
  async sendNewInvitations(ids: readonly string[], actor: Actor): Promise<{ sent: Invitation[]; skipped: number }> {
    const sent: Invitation[] = [];
    for (const invitation of await this.getMany(ids)) {
      if (invitation.status !== 'expired') continue;
      try {
        sent.push(await this.sendNewInvitation(invitation.id, actor));
      } catch (error) {
        // Changed meanwhile (renewed, revoked, accepted by someone else's click): not ours to send.
        if (!(error instanceof DomainError)) throw error;
      }
    }
    return { sent, skipped: ids.length - sent.length };
  }

  /** Rule 6: pending or expired; the link stops working at once. */
  async revoke(id: string, actor: Actor): Promise<Invitation> {
    return this.change(id, async (trx, row, now) => {
      this.requireState(row, now, ['pending', 'expired']);
      const update = { status: 'revoked' as const, revoked_at: now, revoked_by: actorRef(actor), updated_at: now };
      await trx('invitations').where({ id, status: 'pending' }).update(update);
      await trx('outbox').where({ invitation_id: id, state: 'pending', kind: INVITE_EMAIL }).update({ state: 'cancelled', done_at: now, last_error: 'revoked' });
      await recordAudit(trx, now, actor, [{ action: 'revoke', subjectType: 'invitation', subjectId: id, details: { email: row.email } }]);
      return { ...row, ...update };
    });
  }

  /** Rule 5: the current link of a live pending invitation. */
  async copyLink(id: string): Promise<{ invitation: Invitation; link: string }> {
    const row = await this.row(this.db, id);
    const now = this.clock.now();
    this.requireState(row, now, ['pending']);
    return { invitation: toInvitation(row, now), link: this.linkFor(row) };
  }

  /** Also updates the role of a live invitation (Medusa re-POST semantics: the same link is resent). */
  async setRole(id: string, role: Role, actor: Actor): Promise<Invitation> {
    requireRole(role);
    return this.change(id, async (trx, row, now) => {
      this.requireState(row, now, ['pending']);
      if (row.role === role) return row;
      await trx('invitations').where({ id }).update({ role, updated_at: now });
      await recordAudit(trx, now, actor, [{ action: 'role_change', subjectType: 'invitation', subjectId: id, details: { from: row.role, to: role } }]);
      return { ...row, role, updated_at: now };
    });
  }

  /**
   * One address, Medusa's way: a new invitation; an expired one renewed with a new link; a live one
   * given the requested role and sent again with the same link. An active member is refused.
   */
  async inviteOne(input: { email: string; role: Role; actor: Actor; inviterName?: string | null }): Promise<{ outcome: 'sent' | 'renewed' | 'resent'; invitation: Invitation }> {
    const parsed = parseEmailList(typeof input.email === 'string' ? input.email : '');
    if (parsed.emails.length !== 1 || parsed.invalid.length > 0) {
      const reason = parsed.invalid[0] ? `${parsed.invalid[0].entry}: ${parsed.invalid[0].reason}` : 'Give exactly one email address.';
      throw new InvalidInput(reason, 'user');
    }
    const summary = await this.inviteMany({ emails: parsed.emails, role: input.role, actor: input.actor, inviterName: input.inviterName });
    if (summary.alreadyMember.length) throw new AlreadyMember(parsed.emails[0]!);
    const live = summary.alreadyInvited[0];
    if (live) {
      await this.setRole(live.invitationId, input.role, input.actor);
      return { outcome: 'resent', invitation: await this.resend(live.invitationId, input.actor) };
    }
    return { outcome: summary.renewed.length ? 'renewed' : 'sent', invitation: await this.get(summary.invitationIds[0]!) };
  }

  /** "Send it again", whatever its state allows: a pending one is resent, an expired one renewed. */
  async sendAgain(id: string, actor: Actor): Promise<Invitation> {
    const current = await this.get(id);
    return current.status === 'expired' ? this.sendNewInvitation(id, actor) : this.resend(id, actor);
  }

  // ---------------------------------------------------------------- accepting

  /** What the accept page shows for a token; refuses dead links with their own error. Changes nothing. */
  async lookupToken(token: unknown): Promise<Invitation> {
    const row = await this.rowByToken(this.db, token);
    const now = this.clock.now();
    this.requireState(row, now, ['pending']);
    return toInvitation(row, now);
  }

  /**
   * Rule 7: creates the member with the invitation's role and marks the invitation accepted —
   * exactly once, however many submissions race.
   */
  async accept(input: { token: unknown; firstName?: unknown; lastName?: unknown; password: unknown }): Promise<{ member: Member; invitation: Invitation }> {
    const firstName = cleanName(input.firstName, 'first_name');
    const lastName = cleanName(input.lastName, 'last_name');
    const password = checkPassword(input.password);
    const row = await this.rowByToken(this.db, input.token);
    this.requireState(row, this.clock.now(), ['pending']);
    // scrypt is slow on purpose: do it before the transaction so no lock waits on it.
    const passwordHash = await hashPassword(password);

    try {
      return await inTransaction(this.db, async (trx) => {
        const now = this.clock.now();
        const won = await trx('invitations')
          .where({ id: row.id, status: 'pending', token_hash: row.token_hash })
          .where('expires_at', '>', now)
          .update({ status: 'accepted', accepted_at: now, updated_at: now });
        if (won !== 1) {
          // Someone else got here first, or it changed meanwhile: say what it is now.
          const current = await this.row(trx, row.id);
          if (current.token_hash !== row.token_hash) throw new UnknownToken();
          this.requireState(current, now, ['pending']);
          throw new UnknownToken();
        }
        const member = await this.memberFromInvitation(trx, row, { firstName, lastName, passwordHash }, now);
        await trx('invitations').where({ id: row.id }).update({ accepted_member_id: member.id });
        await trx('outbox').where({ invitation_id: row.id, state: 'pending', kind: INVITE_EMAIL }).update({ state: 'cancelled', done_at: now, last_error: 'accepted' });
        const actor: Actor = { type: 'member', memberId: member.id, name: [firstName, lastName].filter(Boolean).join(' ') || row.email };
        await recordAudit(trx, now, actor, [{ action: 'accept', subjectType: 'invitation', subjectId: row.id, details: { email: row.email, member: member.id, role: row.role } }]);
        const invitation = toInvitation({ ...row, status: 'accepted', accepted_at: now, updated_at: now, accepted_member_id: member.id }, now);
        await this.events.accepted?.(trx, now, invitation, member);
        return { member, invitation };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AlreadyMember(row.email);
      throw error;
    }
  }

  /** A new member, or a former (deactivated) one coming back with the new details. */
  private async memberFromInvitation(
    trx: Trx,
    invitation: InvitationRow,
    details: { firstName: string | null; lastName: string | null; passwordHash: string },
    now: number,
  ): Promise<Member> {
    const existing = await trx<MemberRow>('members').where({ email: invitation.email }).first();
    if (existing && existing.state === 'active') throw new AlreadyMember(invitation.email);
    const fields = { first_name: details.firstName, last_name: details.lastName, password_hash: details.passwordHash, role: invitation.role, state: 'active' as const, updated_at: now };
    if (existing) {
      await trx('members').where({ id: existing.id }).update({ ...fields, deactivated_at: null });
      return toMember({ ...existing, ...fields, deactivated_at: null });
    }
    const row: MemberRow = { id: newId('usr'), email: invitation.email, api_token_hash: null, slack_user_id: null, created_at: now, deactivated_at: null, ...fields };
    await trx('members').insert(row);
    return toMember(row);
  }

  // ---------------------------------------------------------------- helpers

  private async change(id: string, apply: (trx: Trx, row: InvitationRow, now: number) => Promise<InvitationRow>): Promise<Invitation> {
    const result = await inTransaction(this.db, async (trx) => {
      const row = await this.row(trx, id, true);
      const now = this.clock.now();
      const updated = await apply(trx, row, now);
      return toInvitation(updated, now);
    });
    this.onQueued();
    return result;
  }

  private async row(db: Db | Trx, id: string, lock = false): Promise<InvitationRow> {
    if (typeof id !== 'string' || !/^invite_[0-9A-Za-z]{1,40}$/.test(id)) throw new NotFound('invitation', String(id).slice(0, 60));
    const query = db<InvitationRow>('invitations').where({ id });
    const row = await (lock ? forUpdate(query) : query).first();
    if (!row) throw new NotFound('invitation', id);
    return row;
  }

  private async rowByToken(db: Db | Trx, token: unknown): Promise<InvitationRow> {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw new UnknownToken();
    const row = await db<InvitationRow>('invitations').where({ token_hash: tokenHash(token) }).first();
    if (!row || !tokenMatches(this.settings.appSecret, row.token_nonce, token)) throw new UnknownToken();
    return row;
  }

  /** Refuses with the error that names the invitation's actual state. */
  private requireState(row: InvitationRow, now: number, allowed: ShownStatus[]): void {
    const status = shownStatus(row, now);
    if (allowed.includes(status)) return;
    switch (status) {
      case 'accepted':
        throw new InvitationAccepted(row.id);
      case 'revoked':
        throw new InvitationRevoked(row.id);
      case 'expired':
        throw new InvitationExpired(row.id, Number(row.expires_at), row.invited_by_name);
      case 'pending':
        throw new InvitationNotExpired(row.id);
    }
  }
}

function inviteEmail(invitationId: string, nonce: string, reason: InviteEmailPayload['reason']): OutboxMessage<InviteEmailPayload> {
  return { kind: INVITE_EMAIL, invitationId, payload: { invitationId, nonce, reason } };
}

const statusRankSql = `CASE WHEN status = 'pending' AND expires_at > ? THEN 0 WHEN status = 'pending' THEN 1 WHEN status = 'accepted' THEN 2 ELSE 3 END`;

/** A keyset cursor names the sort it was made for: its value means nothing under another one. */
type Cursor = { offset: number } | { sort: SortKey; order: 'asc' | 'desc'; value: string | number; id: string; position: number };

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(raw: string | undefined, sort: SortKey, order: 'asc' | 'desc'): Cursor | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    if ('offset' in value && Number.isInteger(value.offset) && value.offset >= 0) return value;
    if ('id' in value && value.sort === sort && value.order === order && typeof value.id === 'string' && typeof value.value === (sort === 'email' ? 'string' : 'number') && Number.isInteger(value.position) && value.position >= 0) return value;
  } catch {
    // fall through
  }
  throw new InvalidInput('The page cursor is not valid; start from the first page.', 'cursor');
}
