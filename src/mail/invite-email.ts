import { chunked, type Db, type Trx } from '../db/index.js';
import type { InvitationRow } from '../invites/model.js';
import { shownStatus } from '../invites/model.js';
import { INVITE_EMAIL, type InviteEmailPayload, type InvitesService } from '../invites/service.js';
import type { Clock } from '../shared/clock.js';
import type { DeliveryOutcome, OutboxHandler, SettledItem } from '../outbox/worker.js';
import type { OutboxRow } from '../outbox/outbox.js';
import { invitationEmail } from './templates.js';
import type { MailTransport } from './transport.js';

export interface InviteEmailSettings {
  mailFrom: string;
  orgName: string;
}

/**
 * How long a batch's invitations, read at once, may stand in for reading each one just before its
 * email goes out. Past it (a slow SMTP server) an email reads its invitation again, so a revocation
 * is never missed by more than this (plus the send itself, as before).
 */
export const BATCH_READ_FRESH_MS = 1_000;

/**
 * Delivers queued invitation emails. The message is built at delivery time from the invitation
 * (the link is never stored), and an email whose link was replaced, revoked or used is dropped.
 */
export function inviteEmailHandler(db: Db, clock: Clock, invites: InvitesService, transport: MailTransport, settings: InviteEmailSettings): OutboxHandler {
  const domain = /@([^>\s]+)>?$/.exec(settings.mailFrom)?.[1] ?? 'doorman.local';

  const readInvitation = (id: string) => db<InvitationRow>('invitations').where({ id }).first();

  async function send(item: OutboxRow, payload: InviteEmailPayload, row: InvitationRow | undefined): Promise<DeliveryOutcome> {
    if (!row) return { result: 'cancelled', reason: 'the invitation no longer exists' };
    const now = clock.now();
    const status = shownStatus(row, now);
    if (status !== 'pending') return { result: 'cancelled', reason: `the invitation is ${status}` };
    if (row.token_nonce !== payload.nonce) return { result: 'cancelled', reason: 'a newer invitation replaced this one' };
    const link = invites.linkFor(row);
    const email = invitationEmail({
      orgName: settings.orgName,
      inviterName: row.invited_by_name,
      email: row.email,
      role: row.role,
      link,
      expiresAt: Number(row.expires_at),
      now,
      reason: payload.reason,
    });
    await transport.send({ from: settings.mailFrom, to: row.email, ...email, messageId: `<${row.id}.${item.id}@${domain}>`, link });
    return { result: 'done' };
  }

  return {
    kind: INVITE_EMAIL,
    async deliver(item: OutboxRow): Promise<DeliveryOutcome> {
      const payload = JSON.parse(item.payload) as InviteEmailPayload;
      return send(item, payload, await readInvitation(payload.invitationId));
    },
    /** One query for the whole claimed batch instead of one per email. */
    async prepare(items: OutboxRow[]) {
      const payloads = new Map(items.map((item) => [item.id, JSON.parse(item.payload) as InviteEmailPayload]));
      const rows = new Map<string, InvitationRow>();
      for (const ids of chunked([...new Set([...payloads.values()].map((p) => p.invitationId))])) {
        for (const row of await db<InvitationRow>('invitations').whereIn('id', ids)) rows.set(row.id, row);
      }
      const readAt = clock.now();
      return async (item: OutboxRow) => {
        const payload = payloads.get(item.id) ?? (JSON.parse(item.payload) as InviteEmailPayload);
        const fresh = payloads.has(item.id) && clock.now() - readAt <= BATCH_READ_FRESH_MS;
        return send(item, payload, fresh ? rows.get(payload.invitationId) : await readInvitation(payload.invitationId));
      };
    },
    recordOutcomes: recordDeliveryStates,
  };
}

/**
 * The invitations' delivery state after their emails' outcomes: one UPDATE per distinct state
 * (usually one: all sent). Only the newest queued email speaks for its invitation's delivery state.
 */
async function recordDeliveryStates(trx: Trx, settled: SettledItem[]): Promise<void> {
  const groups = new Map<string, { update: { delivery_state: string; delivery_error: string | null }; unlessSent: boolean; outboxIds: number[] }>();
  for (const { item, outcome } of settled) {
    if (!item.invitation_id) continue;
    let update: { delivery_state: string; delivery_error: string | null };
    if (outcome.result === 'done') update = { delivery_state: 'sent', delivery_error: null };
    else if (outcome.result === 'failing') update = { delivery_state: 'failing', delivery_error: outcome.error };
    // Expired before it could be delivered: say so rather than stay "queued" for good.
    else if (outcome.reason === 'the invitation is expired') update = { delivery_state: 'failing', delivery_error: 'not delivered before the invitation expired' };
    else continue;
    // An email that was already accepted by the server stays "sent".
    const unlessSent = outcome.result === 'cancelled';
    const key = JSON.stringify([update, unlessSent]);
    const group = groups.get(key) ?? { update, unlessSent, outboxIds: [] };
    group.outboxIds.push(item.id);
    groups.set(key, group);
  }
  for (const { update, unlessSent, outboxIds } of groups.values()) {
    for (const ids of chunked(outboxIds)) {
      // The invitations whose newest email is one of these. (A correlated max, not NOT EXISTS: it
      // stays an index lookup per email, where PostgreSQL turned NOT EXISTS into a scan of the
      // outbox while a freshly filled table had no statistics.)
      const newest = trx('outbox as o')
        .whereIn('o.id', ids)
        .where('o.id', trx('outbox as n').max('n.id').whereRaw('n.invitation_id = o.invitation_id').where('n.kind', INVITE_EMAIL))
        .select('o.invitation_id');
      const query = trx('invitations').whereIn('id', newest);
      if (unlessSent) query.whereNot({ delivery_state: 'sent' });
      await query.update(update);
    }
  }
}
