import { inTransaction, lockRowsSql, serializeOn, useIndexSql, type Db, type Trx } from '../db/index.js';
import type { Role } from '../members/roles.js';
import { audienceFor, cannotAct, groupByRecipient, queueNotices, standInsFor, type InviterRef, type NoticePayload } from '../notices/queue.js';
import type { Clock } from '../shared/clock.js';
import { invitationEvent, type EventSink, type InvitationFacts } from '../events/events.js';

export interface SweepSettings {
  /** SLACK_ADMIN_USER_IDS: who hears when an invitation's inviter cannot (see standInAdmins). */
  bootstrapAdmins: readonly string[];
  /** How long before expiry the reminder goes out; 0 turns reminders off. */
  reminderMs: number;
  /** Invitations claimed per transaction. */
  batchSize?: number;
  /** Where `invite.expired` and `invite.reminded` go (webhooks). */
  events?: EventSink;
  /** Whether Slack DMs are queued (false: Slack is off and the sweep runs for the webhooks alone). */
  notices?: boolean;
  /** Without Slack: which of the two the webhook endpoints take (the other is left unclaimed, for a later set-up to announce). */
  heard?: { expired: boolean; reminded: boolean };
  /** EXPIRY_SWEEP_INTERVAL: how soon a sweep with Slack promises to sweep again (see SLACK_SWEEPER). */
  intervalMs?: number;
  /** Closes approval requests nobody decided within INVITE_TTL (the rule "Policy"), answering how many. */
  lapseRequests?: () => Promise<number>;
}

export interface SweepResult {
  expired: number;
  reminded: number;
  notices: number;
  /** Approval requests that lapsed in this sweep (present only when some did). */
  lapsed?: number;
  /** A sweep without Slack left the claims to an instance that sweeps with Slack (and serves the webhooks too). */
  leftToSlack?: boolean;
  /**
   * Expiries and reminders nobody in Slack could be told of (present only when some): the inviter has
   * no Slack user, and there is no stand-in (no SLACK_ADMIN_USER_IDS, no admin linked to Slack).
   */
  unheard?: number;
}

type ClaimedRow = InviterRef & InvitationFacts;

/**
 * How far each sweep has looked, as an `expires_at` (rows of `job_cursors`): every pending invitation
 * that expires at or before the expiry mark has been announced, and every one that expires at or
 * before the reminder mark has been reminded of (or was not due a reminder). A sweep claims only
 * what lies between its mark and now, so its work grows with what became due, not with the table,
 * and it writes nothing on the invitations themselves. A resend or a new invitation moves
 * `expires_at` past both marks, which re-arms both notices.
 */
export const SWEEP_MARKS = { expired: 'expiry_notices', reminder: 'reminder_notices' } as const;
type Mark = (typeof SWEEP_MARKS)[keyof typeof SWEEP_MARKS];

/** Sweeps of all instances take turns (PostgreSQL advisory lock; SQLite has one writer already). */
const SWEEP_LOCK = 0x73776570;

/**
 * A `job_cursors` row: until when an instance sweeping with Slack has promised to sweep again. A
 * sweep without Slack (an instance without the Slack settings, `doorman sweep` from a bare shell)
 * claims nothing meanwhile: its claims would move the marks past Slack DMs it cannot queue. The
 * promise is renewed when half of it is left, so a sweep that finds nothing rarely writes.
 */
const SLACK_SWEEPER = 'slack_sweeper';
/** The sweep's rows of `job_cursors`. */
type Cursor = Mark | typeof SLACK_SWEEPER;
const MIN_PROMISE_MS = 3_600_000;

/**
 * Finds invitations that expired (or are about to) since the last sweep, claims them — with
 * several instances on one database exactly one sweep claims each — and queues one Slack DM per
 * recipient in the same transaction. A sweep that finds nothing writes nothing.
 */
export class ExpirySweep {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly settings: SweepSettings) {}

  async run(): Promise<SweepResult> {
    const now = this.clock.now();
    const result: SweepResult = { expired: 0, reminded: 0, notices: 0 };
    // Lapses are told in Slack too: left, like the claims below, to an instance sweeping with Slack.
    if (this.settings.notices === false && (await slackSweepsAfter(this.db, now))) return { ...result, leftToSlack: true };
    // Each lapse is its own conditional update (told once with several instances), apart from the claims below.
    const lapsed = (await this.settings.lapseRequests?.()) ?? 0;
    // One DM per recipient per sweep: everything due is claimed in one transaction.
    await inTransaction(this.db, async (trx) => {
      // Two instances sweeping at the same moment would otherwise both read the same marks and
      // announce the same expiries; the later sweep waits here, then reads the marks the first one
      // moved and finds nothing left.
      await serializeOn(trx, SWEEP_LOCK);
      // The marks and the Slack sweeper's promise, in one read.
      const marks = await readCursors(trx, [...Object.values(SWEEP_MARKS), SLACK_SWEEPER]);
      const promised = marks.get(SLACK_SWEEPER) ?? 0;
      if (this.settings.notices === false && promised > now) {
        result.leftToSlack = true;
        return;
      }
      if (this.settings.notices !== false) {
        const promise = Math.max(MIN_PROMISE_MS, 3 * (this.settings.intervalMs ?? 0));
        if (promised - now < promise / 2) await moveMark(trx, SLACK_SWEEPER, now + promise, now);
      }
      const heard = this.settings.heard ?? { expired: true, reminded: true };
      let expired: ClaimedRow[] = [];
      if (heard.expired) {
        const expiredSince = marks.get(SWEEP_MARKS.expired) ?? 0;
        expired = await this.claimAll(trx, 'expires_at > ? AND expires_at <= ?', [expiredSince, now]);
        // Something was claimed, so now is past the old mark: it becomes the mark.
        if (expired.length) await moveMark(trx, SWEEP_MARKS.expired, now, now);
      }
      let due: ClaimedRow[] = [];
      if (this.settings.reminderMs > 0 && heard.reminded) {
        const remindedUpTo = Math.max(marks.get(SWEEP_MARKS.reminder) ?? 0, now);
        const windowEnd = now + this.settings.reminderMs;
        // Due within the reminder window, not yet expired, and sent long enough ago that a
        // reminder says something new (a 1-hour invitation gets no 24-hour reminder).
        due = await this.claimAll(trx, 'expires_at > ? AND expires_at <= ? AND last_sent_at < expires_at - ?', [remindedUpTo, windowEnd, this.settings.reminderMs]);
        if (due.length) await moveMark(trx, SWEEP_MARKS.reminder, windowEnd, now);
      }
      const events = this.settings.events;
      if (events) {
        await events.queueEvents(trx, now, [
          ...expired.map((row) => invitationEvent('invite.expired', { ...row, status: 'expired' }, null)),
          ...due.map((row) => invitationEvent('invite.reminded', row, null)),
        ]);
      }
      if (this.settings.notices === false) {
        Object.assign(result, { expired: expired.length, reminded: due.length });
        return;
      }
      const notices: NoticePayload[] = [];
      const standIns = await standInsFor(trx, [...expired, ...due], this.settings.bootstrapAdmins);
      for (const [recipient, invitationIds] of groupByRecipient(expired, standIns)) notices.push({ notice: 'expired', recipient, invitationIds });
      for (const [recipient, invitationIds] of groupByRecipient(due, standIns)) notices.push({ notice: 'reminder', recipient, invitationIds });
      await queueNotices(trx, now, notices);
      const unheard = [...expired, ...due].filter((row) => audienceFor(row, standIns).recipients.length === 0).length;
      Object.assign(result, { expired: expired.length, reminded: due.length, notices: notices.length }, unheard ? { unheard } : {});
    });
    if (lapsed) result.lapsed = lapsed;
    return result;
  }

  /**
   * The pending invitations matching `due`, read in keyset batches through the (status, expires_at)
   * index. On PostgreSQL each batch locks its rows: a row another writer holds right now (a
   * delivery being recorded, a revoke, a new invitation moving its expiry) is waited for and
   * re-checked, so it is announced only if it is still due once that writer is done.
   */
  private async claimAll(trx: Trx, due: string, bindings: number[]): Promise<ClaimedRow[]> {
    const batch = this.settings.batchSize ?? 5_000;
    const claimed: ClaimedRow[] = [];
    let after: { expiresAt: number; id: string } | undefined;
    for (;;) {
      const rows = (await trx.raw(
        `SELECT id, email, role, status, expires_at, invited_by_slack_user_id, invited_by_member_id
         FROM invitations${useIndexSql(trx, 'invitations_status_expires')}
         WHERE status = 'pending' AND ${due}${after ? ' AND (expires_at > ? OR (expires_at = ? AND id > ?))' : ''}
         ORDER BY expires_at, id LIMIT ?${lockRowsSql(trx)}`,
        [...bindings, ...(after ? [after.expiresAt, after.expiresAt, after.id] : []), batch],
      )) as { rows?: ClaimRow[] } | ClaimRow[];
      const list = Array.isArray(rows) ? rows : (rows.rows ?? []);
      // A locked batch can come back short (rows re-checked away), so only an empty one ends it.
      if (!list.length) return claimed;
      claimed.push(...(await this.withMemberSlackIds(trx, list)));
      const last = list[list.length - 1]!;
      after = { expiresAt: Number(last.expires_at), id: last.id };
    }
  }

  private async withMemberSlackIds(trx: Trx, rows: ClaimRow[]): Promise<ClaimedRow[]> {
    const memberIds = [...new Set(rows.filter((r) => r.invited_by_member_id).map((r) => r.invited_by_member_id!))];
    const linked = new Map<string, string>();
    const unable = new Set<string>();
    for (let i = 0; i < memberIds.length; i += 500) {
      const members = await trx('members').whereIn('id', memberIds.slice(i, i + 500)).select('id', 'slack_user_id', 'state', 'role');
      for (const m of members as Array<{ id: string; slack_user_id: string | null; state: string; role: string }>) {
        if (m.slack_user_id) linked.set(m.id, m.slack_user_id);
        if (cannotAct(m)) unable.add(m.id);
      }
    }
    return rows.map((r) => ({
      id: r.id,
      email: r.email,
      role: r.role,
      status: r.status,
      expires_at: r.expires_at,
      invited_by_member_id: r.invited_by_member_id,
      invited_by_slack_user_id: r.invited_by_slack_user_id,
      inviter_member_slack_user_id: r.invited_by_member_id ? (linked.get(r.invited_by_member_id) ?? null) : null,
      inviter_member_cannot_act: r.invited_by_member_id ? unable.has(r.invited_by_member_id) : false,
    }));
  }
}

interface ClaimRow {
  id: string;
  email: string;
  role: Role;
  status: string;
  expires_at: number | string;
  invited_by_slack_user_id: string | null;
  invited_by_member_id: string | null;
}

/** The sweep's marks as stored (a kind no sweep has moved yet is absent). */
export function readMarks(db: Db | Trx): Promise<Map<Cursor, number>> {
  return readCursors(db, Object.values(SWEEP_MARKS));
}

/** Whether an instance sweeping with Slack has promised to sweep again after `now` (see SLACK_SWEEPER). */
export async function slackSweepsAfter(db: Db, now: number): Promise<boolean> {
  return ((await readCursors(db, [SLACK_SWEEPER])).get(SLACK_SWEEPER) ?? 0) > now;
}

async function readCursors(db: Db | Trx, names: readonly Cursor[]): Promise<Map<Cursor, number>> {
  const rows = (await db('job_cursors').whereIn('name', names).select('name', 'position')) as Array<{ name: Cursor; position: number | string }>;
  return new Map(rows.map((r) => [r.name, Number(r.position)]));
}

export async function moveMark(db: Db | Trx, name: Cursor, position: number, now: number): Promise<void> {
  await db('job_cursors').insert({ name, position, updated_at: now }).onConflict('name').merge(['position', 'updated_at']);
}
