import { bulkInsert, type ColumnTypes } from '../db/bulk-insert.js';
import type { Trx } from '../db/index.js';
import { actorId, storedName, type Actor } from '../shared/actor.js';

export type AuditAction =
  | 'invite'
  | 'resend'
  | 'renew'
  | 'revoke'
  | 'accept'
  | 'member_create'
  | 'role_change'
  | 'deactivate'
  | 'api_token_issue'
  | 'api_token_revoke'
  | 'slack_link'
  | 'slack_unlink'
  | 'slack_link_refused'
  | 'renewal_request'
  | 'renewal_request_dismiss'
  | 'approval_request'
  | 'approve'
  | 'deny'
  | 'approval_lapse';

export interface AuditEntry {
  action: AuditAction;
  subjectType: 'invitation' | 'member';
  subjectId: string;
  details?: Record<string, unknown>;
}

/** A new audit_log row, as `recordAudit` writes it. */
export interface NewAuditRow {
  at: number;
  actor_type: Actor['type'];
  actor_id: string | null;
  /** Their name as it was when they acted (the audit channel names them with it). */
  actor_name: string | null;
  action: AuditAction;
  subject_type: AuditEntry['subjectType'];
  subject_id: string;
  details: string | null;
}
export const NEW_AUDIT_COLUMNS: ColumnTypes<NewAuditRow> = {
  at: 'bigint',
  actor_type: 'text',
  actor_id: 'text',
  actor_name: 'text',
  action: 'text',
  subject_type: 'text',
  subject_id: 'text',
  details: 'text',
};

/** Records changes with who made them and when, inside the transaction that made them. */
export async function recordAudit(trx: Trx, at: number, actor: Actor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const actorType = actor.type;
  const actor_id = actorId(actor);
  const actor_name = auditActorName(actor);
  const rows = entries.map((e): NewAuditRow => ({
    at,
    actor_type: actorType,
    actor_id,
    actor_name,
    action: e.action,
    subject_type: e.subjectType,
    subject_id: e.subjectId,
    details: e.details ? JSON.stringify(e.details) : null,
  }));
  await bulkInsert(trx, 'audit_log', NEW_AUDIT_COLUMNS, rows);
}

/** The name an audit entry keeps for its actor: a person's (the operator is named by actor_id already). */
export function auditActorName(actor: Actor): string | null {
  return actor.type === 'system' ? null : storedName(actor.name);
}
