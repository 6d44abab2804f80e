import { inTransaction, lockRowsSql, serializeOn, useIndexSql, type Db, type Trx } from '../db/index.js';
import { groupByRecipient, queueNotices, type InviterRef, type NoticePayload } from '../notices/notices.js';
import type { Clock } from '../shared/clock.js';

export interface SweepSettings {
  /** Slack users told when an invitation's inviter has no Slack user. */
  bootstrapAdmins: readonly string[];
  /** How long before expiry the reminder goes out; 0 turns reminders off. */
  reminderMs: number;
  /** Invitations claimed per transaction. */
  batchSize?: number;
}

export interface SweepResult {
  expired: number;
  reminded: number;
  notices: number;
}

type ClaimedRow = InviterRef & { id: string };

/** The partial indexes holding only what a sweep still has to claim (see the migrations). */
const DUE_INDEX = { expiry_notified_at: 'invitations_due_expiry', reminder_notified_at: 'invitations_due_reminder' } as const;

/** Sweeps of all instances take turns (PostgreSQL advisory lock; SQLite has one writer already). */
const SWEEP_LOCK = 0x73776570;

/**
 * Finds invitations that expired (or are about to) and have not been announced, claims them
 * atomically — with several instances on one PostgreSQL exactly one claims each — and queues one
 * Slack DM per recipient in the same transaction. A sweep that finds nothing writes nothing.
 */
export class ExpirySweep {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly settings: SweepSettings) {}

  async run(): Promise<SweepResult> {
    const now = this.clock.now();
    const result: SweepResult = { expired: 0, reminded: 0, notices: 0 };
    // One DM per recipient per sweep: everything due is claimed in one transaction.
    await inTransaction(this.db, async (trx) => {
      // Two instances sweeping at the same moment would otherwise each claim part of what is due
      // and a recipient would get two DMs for one expiry moment; the later sweep waits here and
      // then finds everything already claimed.
      await serializeOn(trx, SWEEP_LOCK);
      const expired = await this.claimAll(trx, 'expiry_notified_at', 'expires_at <= ?', [now], now);
      const due = this.settings.reminderMs > 0
        ? await this.claimAll(
            trx,
            'reminder_notified_at',
            // Due within the reminder window, not yet expired, and sent long enough ago that a
            // reminder says something new (a 1-hour invitation gets no 24-hour reminder).
            'expires_at > ? AND expires_at <= ? AND last_sent_at < expires_at - ?',
            [now, now + this.settings.reminderMs, this.settings.reminderMs],
            now,
          )
        : [];
      const notices: NoticePayload[] = [];
      for (const [recipient, invitationIds] of groupByRecipient(expired, this.settings.bootstrapAdmins)) notices.push({ notice: 'expired', recipient, invitationIds });
      for (const [recipient, invitationIds] of groupByRecipient(due, this.settings.bootstrapAdmins)) notices.push({ notice: 'reminder', recipient, invitationIds });
      await queueNotices(trx, now, notices);
      Object.assign(result, { expired: expired.length, reminded: due.length, notices: notices.length });
    });
    return result;
  }

  private async claimAll(trx: Trx, column: 'expiry_notified_at' | 'reminder_notified_at', due: string, bindings: number[], now: number): Promise<ClaimedRow[]> {
    const batch = this.settings.batchSize ?? 5_000;
    const claimed: ClaimedRow[] = [];
    for (;;) {
      // The conditional update is the claim: a row already marked by another instance is not
      // selected again. Sweeps take turns (SWEEP_LOCK), so on PostgreSQL a row another writer holds
      // right now (a delivery being recorded, a revoke) is waited for and re-checked, not skipped
      // into a second DM at the next sweep.
      const rows = (await trx.raw(
        `UPDATE invitations SET ${column} = ? WHERE id IN (
           SELECT id FROM invitations${useIndexSql(trx, DUE_INDEX[column])}
           WHERE status = 'pending' AND ${column} IS NULL AND ${due}
           ORDER BY expires_at LIMIT ?${lockRowsSql(trx)})
         RETURNING id, invited_by_slack_user_id, invited_by_member_id`,
        [now, ...bindings, batch],
      )) as { rows?: ClaimRow[] } | ClaimRow[];
      const list = Array.isArray(rows) ? rows : (rows.rows ?? []);
      claimed.push(...(await this.withMemberSlackIds(trx, list)));
      if (list.length < batch) return claimed;
    }
  }

  private async withMemberSlackIds(trx: Trx, rows: ClaimRow[]): Promise<ClaimedRow[]> {
    const memberIds = [...new Set(rows.filter((r) => !r.invited_by_slack_user_id && r.invited_by_member_id).map((r) => r.invited_by_member_id!))];
    const linked = new Map<string, string>();
    for (let i = 0; i < memberIds.length; i += 500) {
      const members = await trx('members').whereIn('id', memberIds.slice(i, i + 500)).whereNotNull('slack_user_id').select('id', 'slack_user_id');
      for (const m of members as Array<{ id: string; slack_user_id: string }>) linked.set(m.id, m.slack_user_id);
    }
    return rows.map((r) => ({
      id: r.id,
      invited_by_slack_user_id: r.invited_by_slack_user_id,
      inviter_member_slack_user_id: r.invited_by_member_id ? (linked.get(r.invited_by_member_id) ?? null) : null,
    }));
  }
}

interface ClaimRow {
  id: string;
  invited_by_slack_user_id: string | null;
  invited_by_member_id: string | null;
}
