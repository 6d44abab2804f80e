import type { AuditAction } from '../audit/audit.js';
import { INVITEE_NAME } from '../invites/renewal-requests.js';
import { isPostgres, type Db } from '../db/index.js';
import { CLI_ACTOR_PREFIX } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../logger.js';
import { askedWaitMs } from '../outbox/retry.js';
import { clip } from '../slack/blocks/limits.js';
import { escape } from '../slack/text.js';

export interface AuditRow {
  id: number;
  at: number;
  actor_type: 'slack' | 'member' | 'system';
  actor_id: string | null;
  actor_name?: string | null;
  action: string;
  subject_type: string;
  subject_id: string;
  details: string | null;
}

const CURSOR = 'audit_channel';
const LEASE_MS = 60_000;
const LINES_PER_MESSAGE = 20;
/**
 * The most text one message carries (at least one line, each under 2,000): Slack documents 40,000,
 * but answers `msg_too_long` to far less in practice, and one refused message would stop the feed.
 */
const MESSAGE_CHARS = 3_000;
/** A gap's horizon is read this long after the gap is first seen (see gapClosed). */
const HORIZON_DELAY_MS = 1_000;
/** A gap still open after this long (a transaction left open elsewhere on the server) is passed over. */
export const GAP_GIVE_UP_MS = 10 * 60_000;
/** At most this many entries written while no feed ran (AUDIT_CHANNEL unset for a while) are posted when one starts again. */
export const CATCH_UP_ENTRIES = 2_000;
/** A cursor untouched this long was fed by no instance meanwhile (every run touches it, even one Slack refuses). */
const UNFED_AFTER_MS = 3_600_000;

/**
 * Posts each audit entry to AUDIT_CHANNEL, the audit log being the queue: a cursor shared by all instances,
 * under a lease, lets one post at a time, in id order, never past an id that may still commit. A crash between
 * Slack's OK and moving the cursor repeats that one message; a first start begins at the newest entry.
 */
export class AuditFeed {
  private failures = 0;
  private started = false;
  /** The first missing id seen, when, and the horizon of transactions that may still write it. */
  private gap: { id: number; seenAt: number; horizon?: bigint } | undefined;
  /** The lease this instance holds (its `locked_until`), so a release after losing it changes nothing. */
  private lease = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly post: (lines: string[]) => Promise<void>,
    private readonly logger?: Logger,
  ) {}

  async run(): Promise<number> {
    const position = await this.claim();
    if (position === undefined) return 0;
    let posted = 0;
    try {
      const read = await this.untilGap(await this.db<AuditRow>('audit_log').where('id', '>', position).orderBy('id').limit(LINES_PER_MESSAGE), position);
      const lines = withinMessage(read.map(auditLine));
      const rows = read.slice(0, lines.length);
      if (rows.length) {
        await this.post(lines);
        posted = rows.length;
      }
      await this.release(rows.length ? Number(rows[rows.length - 1]!.id) : position);
      this.failures = 0;
    } catch (error) {
      // Slack refused or is down: keep the position and wait longer each time (2 s doubling to
      // 15 min), so a channel the bot was removed from is not hammered every two seconds; a 429
      // (RetryLater with Slack's Retry-After) is waited out at least as long as Slack asked.
      this.failures++;
      const backoff = Math.min(15 * 60_000, 2_000 * 2 ** (this.failures - 1));
      await this.release(position, this.clock.now() + Math.max(backoff, askedWaitMs(error) ?? 0));
      throw error;
    }
    return posted;
  }

  /** The entries up to the first missing id that may still come, in order. */
  private async untilGap(rows: AuditRow[], position: number): Promise<AuditRow[]> {
    let expected = position + 1;
    for (let i = 0; i < rows.length; i++) {
      const id = Number(rows[i]!.id);
      if (id !== expected && !(await this.gapClosed(expected, id))) return rows.slice(0, i);
      expected = id + 1;
    }
    return rows;
  }

  /**
   * Whether a missing id will never come. PostgreSQL hands out ids at insert, not commit, so a gap may be a
   * transaction still running: it is closed once the oldest running one is past the horizon read after the gap
   * was seen (it rolled back). SQLite (one writer, rolled-back ids handed out again) has no such gaps.
   */
  private async gapClosed(id: number, next: number): Promise<boolean> {
    if (!isPostgres(this.db)) return true;
    const now = this.clock.now();
    if (this.gap?.id !== id) {
      this.gap = { id, seenAt: now };
      return false;
    }
    // A writer's id comes a moment before its transaction id: the horizon is read a little later.
    if (now - this.gap.seenAt < HORIZON_DELAY_MS) return false;
    if (now - this.gap.seenAt < GAP_GIVE_UP_MS) {
      const { rows } = (await this.db.raw('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS oldest, pg_snapshot_xmax(pg_current_snapshot())::text AS next')) as { rows: Array<{ oldest: string; next: string }> };
      if (this.gap.horizon === undefined) {
        this.gap.horizon = BigInt(rows[0]!.next);
        return false;
      }
      if (BigInt(rows[0]!.oldest) < this.gap.horizon) return false;
    }
    // The page was read before: a writer of any id up to the next one read may have committed
    // since, and then its line is there now.
    return (await this.db('audit_log').where('id', '>=', id).andWhere('id', '<', next).first('id')) === undefined;
  }

  /** Takes the lease on the cursor; undefined when another instance holds it. */
  private async claim(): Promise<number | undefined> {
    const now = this.clock.now();
    const existing = await this.db('job_cursors').where({ name: CURSOR }).first();
    if (!existing) {
      const newest = (await this.db('audit_log').max({ id: 'id' }).first()) as { id: number | string | null } | undefined;
      await this.db('job_cursors').insert({ name: CURSOR, position: Number(newest?.id ?? 0), updated_at: now }).onConflict('name').ignore();
    }
    const won = await this.db('job_cursors')
      .where({ name: CURSOR })
      .where((q) => q.whereNull('locked_until').orWhere('locked_until', '<', now))
      .update({ locked_until: now + LEASE_MS, updated_at: now });
    if (won !== 1) return undefined;
    this.lease = now + LEASE_MS;
    const row = (await this.db('job_cursors').where({ name: CURSOR }).first()) as { position: number | string };
    const position = Number(row.position);
    // Starting after a break in which the service ran without feeding the channel (unset for months,
    // then set again): the last entries written meanwhile follow, not all of them (hours of messages);
    // the log says how many were left. A restart, a feed Slack refuses for days, or the service down
    // (only the CLI wrote meanwhile) keeps its place.
    const starting = !this.started;
    this.started = true;
    if (!starting || !existing || now - Number(existing.updated_at) < UNFED_AFTER_MS) return position;
    if (!(await this.servedUnfed(position, Number(existing.updated_at)))) return position;
    const cut = (await this.db('audit_log').where('id', '>', position).orderBy('id', 'desc').offset(CATCH_UP_ENTRIES).first('id')) as { id: number | string } | undefined;
    if (!cut) return position;
    const [left] = (await this.db('audit_log').where('id', '>', position).andWhere('id', '<=', Number(cut.id)).count({ n: '*' })) as Array<{ n: number | string }>;
    this.logger?.warn({ left: Number(left?.n ?? 0), since: new Date(Number(existing.updated_at)).toISOString() }, `AUDIT_CHANNEL: of the audit entries written while the channel was not fed, only the last ${CATCH_UP_ENTRIES} are posted there`);
    return Number(cut.id);
  }

  /**
   * Whether someone used the service (not only the CLI) after a feed last touched the cursor: it ran without one.
   * Unnamed system entries (a sweep's lapses) are left out: `doorman sweep` writes them too. A CLI decision made
   * `--as` a member counts as that member's. Entries within a lease of the last touch may be the feeding
   * instance's own last moments.
   */
  private async servedUnfed(position: number, lastFed: number): Promise<boolean> {
    const entry = await this.db('audit_log')
      .where('id', '>', position)
      .where('at', '>', lastFed + LEASE_MS)
      .where((q) => q.whereNot('actor_type', 'system').orWhere((named) => named.whereNotNull('actor_id').andWhereNot('actor_id', 'like', `${CLI_ACTOR_PREFIX}%`)))
      .first('id');
    return entry !== undefined;
  }

  /**
   * Moves the cursor and lets the lease go (or keeps it until `retryAt`), only while the lease is still ours:
   * another instance may have moved the cursor on since, and moving it back would post those lines again.
   */
  private async release(position: number, retryAt: number | null = null): Promise<void> {
    const moved = await this.db('job_cursors').where({ name: CURSOR, locked_until: this.lease }).update({ position, locked_until: retryAt, updated_at: this.clock.now() });
    if (moved !== 1) this.logger?.warn('AUDIT_CHANNEL: this instance lost its turn at the feed while posting (it stalled past the lease); another goes on from where it got');
  }
}

const ACTION_WORDS: Record<AuditAction, string> = {
  invite: 'invited',
  resend: 'resent the invitation to',
  renew: 'sent a new invitation to',
  revoke: 'revoked the invitation to',
  accept: 'accepted the invitation for',
  member_create: 'created the member',
  role_change: 'changed the role of',
  deactivate: 'deactivated',
  api_token_issue: 'issued an API token for',
  api_token_revoke: 'revoked the API token of',
  slack_link: 'linked a Slack user to',
  slack_unlink: 'removed the Slack link of',
  slack_link_refused: 'refused a Slack user the identity of',
  renewal_request: 'asked for a new invitation for',
  renewal_request_dismiss: 'dismissed the request for a new invitation for',
  approval_request: 'asked for approval to invite',
  approve: 'approved the invitation to',
  deny: 'denied the invitation to',
  approval_lapse: 'let lapse (nobody decided) the request to invite',
};

/** The first lines that fit one message (MESSAGE_CHARS with their line breaks), at least one. */
function withinMessage(lines: string[]): string[] {
  let chars = 0;
  const fits = lines.findIndex((line, i) => (chars += line.length + (i ? 1 : 0)) > MESSAGE_CHARS);
  return fits === -1 ? lines : lines.slice(0, Math.max(1, fits));
}

/**
 * Who made an audit entry. A person is named as they were named when they acted, with their id (names
 * are theirs to choose, and two may share one), not mentioned: a mention would notify them of each of
 * their own changes; an entry kept from before names had only the Slack mention. Everything but the
 * mention is someone's typing (a name, an operator's login): escaped, so `<!channel>` reads as typed.
 */
function actorWords(row: AuditRow): string {
  if (row.actor_type !== 'system' && row.actor_name) return `*${escape(row.actor_name)}* (${escape(String(row.actor_id))})`;
  if (row.actor_type === 'slack') return `<@${row.actor_id}>`;
  if (row.actor_type === 'member') return escape(`member ${row.actor_id}`);
  if (row.actor_id === INVITEE_NAME) return 'the invitee';
  return escape(`operator${row.actor_id ? ` (${row.actor_id})` : ''}`);
}

/** One audit entry in words: who did what to whom. */
export function auditLine(row: AuditRow): string {
  const details = row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {};
  const who = actorWords(row);
  const subject = typeof details.email === 'string' ? details.email : `${row.subject_type} ${row.subject_id}`;
  const extra =
    row.action === 'role_change' && details.to ? ` (${String(details.from)} → ${String(details.to)})` : (row.action === 'invite' || row.action === 'approval_request') && details.role ? ` as ${String(details.role)}` : row.action === 'deny' && details.reason ? ` (${String(details.reason)})` : '';
  // Clipped before escaping, so twenty lines stay well within what Slack takes in one message.
  return `${who} ${ACTION_WORDS[row.action as AuditAction] ?? row.action} ${escape(clip(`${subject}${extra}`, 300))}`;
}
