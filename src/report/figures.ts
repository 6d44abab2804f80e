import { isPostgres, type Db, type Trx } from '../db/index.js';
import { DAY_MS } from '../shared/clock.js';
import type { ReportPeriod } from './schedule.js';

/** An invitation still open this long after it was sent is listed as waiting too long. */
export const PENDING_AFTER_MS = 3 * DAY_MS;
/** Invitations and domains named one by one; the rest are counted ("…and N more"). */
export const LISTED_PENDING = 10;
export const LISTED_DOMAINS = 10;

/** One week's figures, each as of the end of that week. */
export interface WeekFigures {
  /** Invitations emailed with a new link: new ones and new invitations after expiry (not resends). */
  sent: number;
  accepted: number;
  /** Of the invitations sent in the week, the share accepted by its end; null when none were sent. */
  acceptanceRate: number | null;
  /** From the email with the link used to acceptance, over the week's acceptances; null when none. */
  medianTimeToAcceptMs: number | null;
  /** Still open at the week's end, sent more than three days before it. */
  pendingOverThreeDays: number;
  /** Expired during the week and, at its end, neither sent anew nor revoked. */
  expiredNotRenewed: number;
  /** Invitations last emailed in the week whose email was refused or is failing. */
  deliveryProblems: number;
}

export interface PendingInvitation {
  email: string;
  /** When the link it holds was emailed (a new invitation after expiry starts the wait anew). */
  invitedAt: number;
  inviter: { slackUserId: string | null; name: string | null };
}

export interface DomainProblems {
  domain: string;
  refused: number;
  failing: number;
  /** Refused and failing in the week before. */
  previous: number;
}

/** Everything the weekly report says: built once, drawn in Slack (Block Kit) or in the terminal (text). */
export interface WeeklyReportFigures {
  period: ReportPeriod;
  week: WeekFigures;
  previousWeek: WeekFigures;
  /** The longest-waiting invitations of this week's pending figure, oldest first. */
  pending: PendingInvitation[];
  /** Recipient domains with refused or failing deliveries, most this week first. */
  domains: DomainProblems[];
  /** Domains with problems beyond those listed. */
  moreDomains: number;
}

/**
 * Audit actions that email a new link (an approval emails the link of a request held for it), and
 * (with resends) those that set the expiry to then + TTL.
 */
const SENDS = `('invite', 'renew', 'approve')`;
const LINKS = `('invite', 'resend', 'renew', 'approve')`;

/**
 * An invitation's expiry as it stood just before `:at`. The row holds the current one, right for
 * any moment after the last email; for an earlier moment it is the latest link email before then
 * plus the invitation's TTL (each invite, resend and new invitation sets the expiry that way).
 */
function expiryAt(at: string): string {
  return `(CASE WHEN i.last_sent_at < :${at} THEN i.expires_at
    ELSE (SELECT MAX(a.at) FROM audit_log a WHERE a.subject_type = 'invitation' AND a.subject_id = i.id AND a.action IN ${LINKS} AND a.at < :${at}) + COALESCE(i.ttl_ms, :ttl) END)`;
}

/** Neither accepted nor revoked before `:at`. */
function openAt(at: string): string {
  return `(i.accepted_at IS NULL OR i.accepted_at >= :${at}) AND (i.revoked_at IS NULL OR i.revoked_at >= :${at})`;
}

/**
 * Held for approval at `:at` (the rule "Policy"): its last request, decision or lapse before then
 * was a request. Read from the audit log, as a later hold (a new link, a raise to admin) clears the
 * row's decision.
 */
function awaitingAt(at: string): string {
  return `(i.approval_reasons IS NOT NULL AND COALESCE((SELECT a.action FROM audit_log a WHERE a.subject_type = 'invitation' AND a.subject_id = i.id
    AND a.action IN ('approval_request', 'approve', 'deny', 'approval_lapse') AND a.at < :${at} ORDER BY a.at DESC, a.id DESC LIMIT 1), '') = 'approval_request')`;
}

/**
 * When the link an invitation holds at `:at` was emailed: its latest invitation, new invitation or
 * approval before then (a resend emails the same link again and does not count).
 */
function linkedAt(at: string): string {
  return `COALESCE((SELECT MAX(a.at) FROM audit_log a WHERE a.subject_type = 'invitation' AND a.subject_id = i.id AND a.action IN ${SENDS} AND a.at < :${at}), i.created_at)`;
}

/**
 * Pending and live at `:at`, its link emailed more than three days before (`:<at>Old`). An
 * invitation sent anew after it expired has waited since then, not since it was first created.
 */
function pendingAt(at: string): string {
  // The cheap conditions first: the audit log's subqueries run only for rows still open then.
  return `(${openAt(at)} AND ${expiryAt(at)} > :${at} AND ${linkedAt(at)} < :${at}Old AND NOT ${awaitingAt(at)})`;
}

/** Expired in `(:from, :to]` and still expired at `:to` (a request nobody decided is no invitation that expired). */
function expiredIn(from: string, to: string): string {
  return `(i.created_at < :${to} AND ${openAt(to)} AND NOT ${awaitingAt(to)} AND ${expiryAt(to)} > :${from} AND ${expiryAt(to)} <= :${to})`;
}

/** The part of an email address after the @ (addresses are stored normalized, with one @). */
function emailDomainSql(db: Db | Trx, column: string): string {
  return isPostgres(db) ? `split_part(${column}, '@', 2)` : `substr(${column}, instr(${column}, '@') + 1)`;
}

type Row = Record<string, unknown>;
async function rows(db: Db | Trx, sql: string, bindings: Record<string, number>): Promise<Row[]> {
  const result = (await db.raw(sql, bindings)) as { rows?: Row[] } | Row[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

/**
 * The weekly report's figures for a period and the week before it, in six set-based queries
 * (identical on SQLite and PostgreSQL). Each week's figures are as of its own end, reconstructed
 * from the audit log where an invitation changed since. Not all of it is in the log (a row keeps
 * only its last send and TTL), so the report puts last week's own figures beside this week's when
 * it was sent (`reportFigures` in runs.ts).
 */
export function weeklyFigures(db: Db | Trx, period: ReportPeriod, inviteTtlMs: number): Promise<WeeklyReportFigures> {
  return withoutJit(db, (q) => computeFigures(q, period, inviteTtlMs));
}

/**
 * PostgreSQL judges these queries costly enough to compile them (JIT), which takes far longer than
 * running them; compiling is turned off for the transaction that computes them.
 */
async function withoutJit<T>(db: Db | Trx, work: (q: Db | Trx) => Promise<T>): Promise<T> {
  if (!isPostgres(db)) return work(db);
  const run = async (trx: Trx) => {
    await trx.raw('SET LOCAL jit = off');
    return work(trx);
  };
  return db.isTransaction ? run(db as Trx) : db.transaction(run);
}

async function computeFigures(db: Db | Trx, period: ReportPeriod, inviteTtlMs: number): Promise<WeeklyReportFigures> {
  const b = {
    previousStart: period.previousStart,
    start: period.start,
    end: period.end,
    startOld: period.start - PENDING_AFTER_MS,
    endOld: period.end - PENDING_AFTER_MS,
    ttl: inviteTtlMs,
  };
  // One after another: on PostgreSQL they share one transaction's connection.
  const sends = await rows(db, `SELECT COALESCE(SUM(CASE WHEN at >= :start THEN 1 ELSE 0 END), 0) AS week, COALESCE(SUM(CASE WHEN at < :start THEN 1 ELSE 0 END), 0) AS previous
      FROM audit_log WHERE subject_type = 'invitation' AND action IN ${SENDS} AND at >= :previousStart AND at < :end`, b);
  const cohorts = await rows(db, `SELECT s.current_week AS current_week, COUNT(*) AS invited,
        SUM(CASE WHEN i.accepted_at < :end AND (s.current_week = 1 OR i.accepted_at < :start) THEN 1 ELSE 0 END) AS accepted
      FROM (SELECT DISTINCT subject_id, CASE WHEN at >= :start THEN 1 ELSE 0 END AS current_week
            FROM audit_log WHERE subject_type = 'invitation' AND action IN ${SENDS} AND at >= :previousStart AND at < :end) s
      JOIN invitations i ON i.id = s.subject_id GROUP BY s.current_week`, b);
  const accepted = await rows(db, `SELECT i.accepted_at AS accepted_at, i.accepted_at - COALESCE((SELECT MAX(a.at) FROM audit_log a
        WHERE a.subject_type = 'invitation' AND a.subject_id = i.id AND a.action IN ${SENDS} AND a.at <= i.accepted_at), i.created_at) AS took
      FROM invitations i WHERE i.status = 'accepted' AND i.accepted_at >= :previousStart AND i.accepted_at < :end`, b);
  // Expiries only move later, so whatever was live or expiring since previousStart still expires after it.
  const states = await rows(db, `SELECT COALESCE(SUM(CASE WHEN ${pendingAt('end')} THEN 1 ELSE 0 END), 0) AS pending_week,
        COALESCE(SUM(CASE WHEN ${pendingAt('start')} THEN 1 ELSE 0 END), 0) AS pending_previous,
        COALESCE(SUM(CASE WHEN ${expiredIn('start', 'end')} THEN 1 ELSE 0 END), 0) AS expired_week,
        COALESCE(SUM(CASE WHEN ${expiredIn('previousStart', 'start')} THEN 1 ELSE 0 END), 0) AS expired_previous
      FROM invitations i WHERE i.expires_at > :previousStart AND i.created_at < :end`, b);
  const pending = await rows(db, `SELECT i.email AS email, ${linkedAt('end')} AS linked_at, i.invited_by_slack_user_id AS slack_user_id, i.invited_by_name AS inviter_name,
        m.slack_user_id AS member_slack_user_id, m.first_name AS first_name, m.last_name AS last_name, m.email AS member_email
      FROM invitations i LEFT JOIN members m ON m.id = i.invited_by_member_id
      WHERE i.expires_at > :end AND ${pendingAt('end')} ORDER BY linked_at, i.id LIMIT ${LISTED_PENDING}`, b);
  const domains = await rows(db, `SELECT ${emailDomainSql(db, 'i.email')} AS domain,
        SUM(CASE WHEN i.last_sent_at >= :start AND i.delivery_state = 'refused' THEN 1 ELSE 0 END) AS refused,
        SUM(CASE WHEN i.last_sent_at >= :start AND i.delivery_state = 'failing' THEN 1 ELSE 0 END) AS failing,
        SUM(CASE WHEN i.last_sent_at < :start THEN 1 ELSE 0 END) AS previous
      FROM invitations i WHERE i.delivery_state IN ('refused', 'failing') AND i.last_sent_at >= :previousStart AND i.last_sent_at < :end
      GROUP BY ${emailDomainSql(db, 'i.email')}`, b);

  const cohort = (current: number) => cohorts.find((r) => Number(r.current_week) === current);
  const rate = (current: number) => {
    const row = cohort(current);
    return row && Number(row.invited) > 0 ? Number(row.accepted) / Number(row.invited) : null;
  };
  const took = (inWeek: (at: number) => boolean) => accepted.filter((r) => inWeek(Number(r.accepted_at))).map((r) => Number(r.took));
  const thisWeek = took((at) => at >= period.start);
  const lastWeek = took((at) => at < period.start);
  const allDomains: DomainProblems[] = domains
    .map((r) => ({ domain: String(r.domain), refused: Number(r.refused), failing: Number(r.failing), previous: Number(r.previous) }))
    .sort((x, y) => y.refused + y.failing - (x.refused + x.failing) || y.previous - x.previous || x.domain.localeCompare(y.domain));
  const problems = (pick: (d: DomainProblems) => number) => allDomains.reduce((sum, d) => sum + pick(d), 0);
  const s = sends[0] ?? {};
  const st = states[0] ?? {};
  const weekOf = (current: 0 | 1): WeekFigures => {
    const when = current ? 'week' : 'previous';
    const accepts = current ? thisWeek : lastWeek;
    return {
      sent: Number(s[when] ?? 0),
      accepted: accepts.length,
      acceptanceRate: rate(current),
      medianTimeToAcceptMs: median(accepts),
      pendingOverThreeDays: Number(st[`pending_${when}`] ?? 0),
      expiredNotRenewed: Number(st[`expired_${when}`] ?? 0),
      deliveryProblems: problems((d) => (current ? d.refused + d.failing : d.previous)),
    };
  };
  return {
    period,
    week: weekOf(1),
    previousWeek: weekOf(0),
    pending: pending.map((r) => ({
      email: String(r.email),
      invitedAt: Number(r.linked_at),
      inviter: {
        slackUserId: (r.slack_user_id ?? r.member_slack_user_id ?? null) as string | null,
        name: (r.inviter_name ?? ([r.first_name, r.last_name].filter(Boolean).join(' ') || r.member_email) ?? null) as string | null,
      },
    })),
    domains: allDomains.filter((d) => d.refused + d.failing + d.previous > 0).slice(0, LISTED_DOMAINS),
    moreDomains: Math.max(0, allDomains.length - LISTED_DOMAINS),
  };
}

export function median(values: readonly number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
