import type { Db, Trx } from '../db/index.js';
import type { InvitationRow } from '../invites/model.js';
import { shownStatus } from '../invites/model.js';
import { INVITE_EMAIL, type InviteEmailPayload } from '../invites/sending.js';
import type { InviteLinks } from '../invites/tokens.js';
import type { OutboxRow } from '../outbox/outbox.js';
import type { DeliveryOutcome, OutboxHandler, RecordedOutcome } from '../outbox/worker.js';
import type { Clock } from '../shared/clock.js';
import { invitationEmail } from './templates.js';
import type { MailTransport } from './transport.js';

export interface InviteEmailSettings {
  mailFrom: string;
  orgName: string;
}

/**
 * Delivers queued invitation emails. The message is built at delivery time from the invitation
 * (the link is never stored), and an email whose link was replaced, revoked or used is dropped.
 */
export function inviteEmailHandler(db: Db, clock: Clock, links: InviteLinks, transport: MailTransport, settings: InviteEmailSettings): OutboxHandler {
  const domain = /@([^>\s]+)>?$/.exec(settings.mailFrom)?.[1] ?? 'doorman.local';
  return {
    kind: INVITE_EMAIL,
    async deliver(item: OutboxRow): Promise<DeliveryOutcome> {
      const payload = JSON.parse(item.payload) as InviteEmailPayload;
      const row = await db<InvitationRow>('invitations').where({ id: payload.invitationId }).first();
      if (!row) return { result: 'cancelled', reason: 'the invitation no longer exists' };
      const now = clock.now();
      const status = shownStatus(row, now);
      if (status !== 'pending') return { result: 'cancelled', reason: `the invitation is ${status}` };
      if (row.token_nonce !== payload.nonce) return { result: 'cancelled', reason: 'a newer invitation replaced this one' };
      const link = links.linkFor(row);
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
    },
    recordOutcome: recordDeliveryState,
  };
}

/**
 * The invitation's delivery state after its email's outcome. Only the newest queued email speaks
 * for its invitation, and an email the server already accepted stays "sent".
 */
async function recordDeliveryState(trx: Trx, item: OutboxRow, outcome: RecordedOutcome): Promise<void> {
  if (!item.invitation_id) return;
  let update: { delivery_state: string; delivery_error: string | null };
  if (outcome.result === 'done') update = { delivery_state: 'sent', delivery_error: null };
  else if (outcome.result === 'failing') update = { delivery_state: 'failing', delivery_error: outcome.error };
  // Expired before it could be delivered: say so rather than stay "queued" for good.
  else if (outcome.reason === 'the invitation is expired') update = { delivery_state: 'failing', delivery_error: 'not delivered before the invitation expired' };
  else return;
  const newest = trx('outbox').max('id').where({ invitation_id: item.invitation_id, kind: INVITE_EMAIL });
  const query = trx('invitations').where({ id: item.invitation_id }).where(trx.raw('?', [item.id]), '=', newest);
  if (outcome.result === 'cancelled') query.whereNot({ delivery_state: 'sent' });
  await query.update(update);
}
