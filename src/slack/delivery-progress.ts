import type { Db } from '../db/index.js';
import { chunked } from '../db/index.js';
import type { DeliveryProgress } from './blocks/invite-summary.js';

/**
 * How far the emails of a batch got. A read of the invitations' delivery state; it belongs in the
 * invitations domain (InvitesService.deliveryProgress(ids)) and moves there when that exists.
 */
export async function deliveryProgress(db: Db, invitationIds: readonly string[]): Promise<DeliveryProgress> {
  const progress: DeliveryProgress = { queued: invitationIds.length, sent: 0, failing: 0 };
  for (const ids of chunked(invitationIds, 400)) {
    const rows = (await db('invitations').whereIn('id', ids).select('delivery_state').count({ n: '*' }).groupBy('delivery_state')) as Array<{ delivery_state: string; n: number | string }>;
    for (const row of rows) {
      if (row.delivery_state === 'sent') progress.sent += Number(row.n);
      if (row.delivery_state === 'failing') progress.failing += Number(row.n);
    }
  }
  return progress;
}
