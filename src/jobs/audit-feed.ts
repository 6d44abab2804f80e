import type { AuditAction } from '../audit/audit.js';
import { INVITEE_NAME } from '../invites/renewal-requests.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';

export interface AuditRow {
  id: number;
  at: number;
  actor_type: 'slack' | 'member' | 'system';
  actor_id: string | null;
  action: string;
  subject_type: string;
  subject_id: string;
  details: string | null;
}

const CURSOR = 'audit_channel';
const LEASE_MS = 60_000;
const LINES_PER_MESSAGE = 20;
/**
 * On PostgreSQL ids are handed out when rows are written, not when they commit: a missing id below
 * a committed one may belong to a transaction still running. Its entry is waited for this long
 * (counted from the entry after it), then taken as rolled back.
 */
export const GAP_WAIT_MS = 30_000;

/**
 * Posts each audit entry to AUDIT_CHANNEL as one line with who did it. The audit log is the queue:
 * a cursor shared by all instances says how far the channel got, and a lease on it lets exactly
 * one instance post at a time. At first start it begins at the newest entry (no flood of history).
 * A crash between Slack's OK and moving the cursor repeats that one message. Entries are posted in
 * id order, and none is passed over while the one before it may still commit.
 */
export class AuditFeed {
  private failures = 0;

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly post: (lines: string[]) => Promise<void>) {}

  async run(): Promise<number> {
    const position = await this.claim();
    if (position === undefined) return 0;
    let posted = 0;
    try {
      const rows = untilGap(await this.db<AuditRow>('audit_log').where('id', '>', position).orderBy('id').limit(LINES_PER_MESSAGE), position, this.clock.now());
      if (rows.length) {
        await this.post(rows.map(auditLine));
        posted = rows.length;
      }
      await this.release(rows.length ? Number(rows[rows.length - 1]!.id) : position);
      this.failures = 0;
    } catch (error) {
      // Slack refused or is down: keep the position and wait longer each time (2 s doubling to
      // 15 min), so a channel the bot was removed from is not hammered every two seconds.
      this.failures++;
      await this.release(position, this.clock.now() + Math.min(15 * 60_000, 2_000 * 2 ** (this.failures - 1)));
      throw error;
    }
    return posted;
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
    const row = (await this.db('job_cursors').where({ name: CURSOR }).first()) as { position: number | string };
    return Number(row.position);
  }

  /** Moves the cursor and lets the lease go (or keeps it until `retryAt` after a failure). */
  private async release(position: number, retryAt: number | null = null): Promise<void> {
    await this.db('job_cursors').where({ name: CURSOR }).update({ position, locked_until: retryAt, updated_at: this.clock.now() });
  }
}

/** The entries up to the first missing id that may still come (see GAP_WAIT_MS), in order. */
function untilGap(rows: AuditRow[], position: number, now: number): AuditRow[] {
  let expected = position + 1;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (Number(row.id) !== expected && Number(row.at) > now - GAP_WAIT_MS) return rows.slice(0, i);
    expected = Number(row.id) + 1;
  }
  return rows;
}

const ACTION_WORDS: Record<AuditAction, string> = {
  invite: 'invited',
  resend: 'resent the invitation to',
  new_invitation: 'sent a new invitation to',
  revoke: 'revoked the invitation to',
  accept: 'accepted the invitation for',
  member_create: 'created the member',
  role_change: 'changed the role of',
  deactivate: 'deactivated',
  reactivate: 'reactivated',
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

/** One audit entry in words: who did what to whom. */
export function auditLine(row: AuditRow): string {
  const details = row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {};
  const who =
    row.actor_type === 'slack' ? `<@${row.actor_id}>` : row.actor_type === 'member' ? `member ${row.actor_id}` : row.actor_id === INVITEE_NAME ? 'the invitee' : `operator${row.actor_id ? ` (${row.actor_id})` : ''}`;
  const subject = typeof details.email === 'string' ? details.email : `${row.subject_type} ${row.subject_id}`;
  const extra =
    row.action === 'role_change' && details.to ? ` (${String(details.from)} → ${String(details.to)})` : (row.action === 'invite' || row.action === 'approval_request') && details.role ? ` as ${String(details.role)}` : row.action === 'deny' && details.reason ? ` (${String(details.reason)})` : '';
  return `${who} ${ACTION_WORDS[row.action as AuditAction] ?? row.action} ${subject}${extra}`;
}
