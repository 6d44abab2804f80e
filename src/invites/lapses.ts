import { recordAudit } from '../audit/audit.js';
import { chunked, inTransaction } from '../db/index.js';
import { invitationEvent } from '../events/events.js';
import { invitationRow, type InvitesContext } from './context.js';
import { decidedColumns } from './decisions.js';
import { toInvitation, type InvitationRow } from './model.js';

/**
 * Lapse: requests nobody decided within INVITE_TTL are closed (shown as Revoked) and their
 * requesters told. Each invitation is closed by one conditional update, so with several instances
 * sweeping each lapse is recorded (and told) once. All that are due lapse, about `batch` to a
 * transaction, a request's due invitations in the same one (one redraw, one DM). Answers how many lapsed.
 */
export async function lapseDueRequests(ctx: InvitesContext, batch = 500): Promise<number> {
  const now = ctx.clock.now();
  let lapsed = 0;
  for (;;) {
    const done = await lapseBatch(ctx, now, batch);
    lapsed += done.lapsed;
    if (done.found < batch) break;
  }
  if (lapsed) ctx.onQueued();
  return lapsed;
}

async function lapseBatch(ctx: InvitesContext, now: number, batch: number): Promise<{ found: number; lapsed: number }> {
  const due = (await ctx.db('invitations').where({ status: 'awaiting' }).andWhere('expires_at', '<=', now).orderBy([{ column: 'expires_at' }, { column: 'id' }]).limit(batch).select('id', 'approval_request_id')) as Array<{ id: string; approval_request_id: string | null }>;
  if (due.length === 0) return { found: 0, lapsed: 0 };
  // A request lapses whole when its first invitation's window ends (an import's batches each started
  // one): the rest of it lapses with it, in the same transaction.
  const requests = [...new Set(due.flatMap((row) => row.approval_request_id ?? []))];
  const ids = new Set(due.map((row) => row.id));
  for (const chunk of chunked(requests)) for (const id of (await ctx.db('invitations').where({ status: 'awaiting' }).whereIn('approval_request_id', chunk).pluck('id')) as string[]) ids.add(id);
  const lapsed = await inTransaction(ctx.db, async (trx) => {
    const rows: InvitationRow[] = [];
    // In id order, as every decision changes a request's rows (see byId).
    for (const id of [...ids].sort()) {
      // Nobody decided: no name to show.
      const update = { status: 'revoked' as const, revoked_at: now, revoked_by: 'system', ...decidedColumns({ type: 'system' }, 'lapsed', now), decided_by_name: null };
      const changed = await trx('invitations').where({ id, status: 'awaiting' }).whereNull('decision').update(update);
      if (changed === 1) rows.push(await invitationRow(trx, id));
    }
    if (rows.length === 0) return 0;
    await recordAudit(trx, now, { type: 'system' }, rows.map((row) => ({ action: 'approval_lapse', subjectType: 'invitation', subjectId: row.id, details: { email: row.email } })));
    // The requests lapsed together are told together: one redraw and one DM per request.
    await ctx.onApprovalDecided?.(trx, now, rows.map((row) => toInvitation(row, now)));
    // A lapse has no type of its own: receivers learn that the request closed unapproved, by nobody.
    await ctx.events.queueEvents(trx, now, rows.map((row) => invitationEvent('invite.denied', row, null, { reason: 'lapsed: nobody decided within INVITE_TTL' })));
    return rows.length;
  });
  return { found: due.length, lapsed };
}
