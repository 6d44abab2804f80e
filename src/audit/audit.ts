import type { Trx } from '../db/index.js';
import { actorId, type Actor } from '../shared/actor.js';

export type AuditAction =
  | 'invite'
  | 'resend'
  | 'new_invitation'
  | 'revoke'
  | 'accept'
  | 'member_create'
  | 'role_change'
  | 'deactivate'
  | 'reactivate'
  | 'api_token_issue';

export interface AuditEntry {
  action: AuditAction;
  subjectType: 'invitation' | 'member';
  subjectId: string;
  details?: Record<string, unknown>;
}

/** Records changes with who made them and when, inside the transaction that made them. */
export async function recordAudit(trx: Trx, at: number, actor: Actor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => ({
    at,
    actor_type: actor.type,
    actor_id: actorId(actor),
    action: e.action,
    subject_type: e.subjectType,
    subject_id: e.subjectId,
    details: e.details ? JSON.stringify(e.details) : null,
  }));
  for (let i = 0; i < rows.length; i += 400) await trx('audit_log').insert(rows.slice(i, i + 400));
}
