import type { Db, Trx } from '../db/index.js';
import type { InvitationRow } from '../invites/model.js';
import { shownStatus } from '../invites/model.js';
import { INVITE_EMAIL, type InviteEmailPayload, type InvitesService } from '../invites/service.js';
import type { Clock } from '../shared/clock.js';
import type { DeliveryOutcome, OutboxHandler } from '../outbox/worker.js';
import type { OutboxRow } from '../outbox/outbox.js';
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
export function inviteEmailHandler(db: Db, clock: Clock, invites: InvitesService, transport: MailTransport, settings: InviteEmailSettings): OutboxHandler {
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
    },
    async recordOutcome(trx: Trx, item: OutboxRow, outcome) {
      if (!item.invitation_id || outcome.result === 'cancelled') return;
      const update = outcome.result === 'done' ? { delivery_state: 'sent', delivery_error: null } : { delivery_state: 'failing', delivery_error: outcome.error };
      // Only the newest queued email speaks for the invitation's delivery state.
      const newer = await trx('outbox').where({ invitation_id: item.invitation_id, kind: INVITE_EMAIL }).where('id', '>', item.id).first('id');
      if (!newer) await trx('invitations').where({ id: item.invitation_id }).update(update);
    },
  };
}
