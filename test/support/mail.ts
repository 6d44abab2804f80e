import type { Db } from '../../src/db/index.js';
import { INVITE_EMAIL } from '../../src/invites/sending.js';
import type { ReceivedMail, TestSmtpServer } from './smtp.js';
import { eventually } from './wait.js';

/**
 * Waits until `address` has received `count` emails and none of its invitation emails is still
 * queued or held by a worker. The server has a message before the worker records it sent, and a
 * resend meanwhile joins the email in hand instead of adding another.
 */
export function emailed(smtp: TestSmtpServer, db: Db, address: string, count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
  return eventually(async () => {
    if (smtp.to(address).length < count) return undefined;
    const open = await db('outbox').join('invitations', 'invitations.id', 'outbox.invitation_id')
      .where({ 'invitations.email': address, 'outbox.kind': INVITE_EMAIL, 'outbox.state': 'pending' }).first('outbox.id');
    return open ? undefined : smtp.to(address);
  }, timeoutMs, `${count} email(s) to ${address}, recorded as sent`);
}
