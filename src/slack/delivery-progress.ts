import type { InviteSummary } from '../invites/model.js';
import { inviteSummary } from './blocks/invite-summary.js';
import type { SlackDeps } from './deps.js';

/** How often a batch's DM is brought up to date with its delivery, and for how long at most. */
export const PROGRESS_INTERVAL_MS = 2_000;
const PROGRESS_FOR_MS = 30 * 60_000;

type Update = (message: { text: string; blocks: unknown[] }) => Promise<unknown>;

/**
 * Turns a DM into the summary of what was stored, then keeps it current as the mail worker
 * delivers ("delivered: N"), until every email went out or it is time to stop.
 */
export async function followDelivery(deps: Pick<SlackDeps, 'invites' | 'background' | 'clock' | 'logger' | 'command'>, update: Update, summary: InviteSummary): Promise<void> {
  let progress = { total: summary.invitationIds.length, sent: 0, failing: 0 };
  await update(inviteSummary(summary, deps.command, progress));
  if (progress.total === 0) return;
  deps.background.run(
    async () => {
      const until = deps.clock.now() + PROGRESS_FOR_MS;
      while (progress.sent < progress.total && deps.clock.now() < until && (await deps.background.sleep(PROGRESS_INTERVAL_MS))) {
        const next = await deps.invites.deliveryProgress(summary.invitationIds);
        if (next.sent === progress.sent && next.failing === progress.failing) continue;
        progress = next;
        await update(inviteSummary(summary, deps.command, progress));
      }
    },
    (error) => deps.logger.warn({ err: error }, 'invite progress updates stopped'),
  );
}
