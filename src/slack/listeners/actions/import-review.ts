import type { ListImportState } from '../../../invites/import-state.js';
import { decodeImportId } from '../../action-values.js';
import { fileReviewEnded } from '../../blocks/file-review.js';
import type { SlackDeps } from '../../deps.js';
import { onClick, replaceMessage, showOrTell, tellClicker, type ClickArgs } from './click.js';

const ALREADY = 'This file was already sent or cancelled.';

/**
 * A button of a file's review: acts on its import when the clicker may (who attached it, the review
 * still waiting); otherwise they are told why. The import's own state lets one Send or Cancel
 * through, so a press again (asked for, or a double click) is answered rather than dropped.
 */
function onReview(deps: SlackDeps, act: (args: ClickArgs, state: ListImportState) => Promise<unknown>) {
  return onClick(
    deps,
    decodeImportId,
    async (args, id, user) => {
      const state = await deps.invites.findListImport(id);
      if (state && state.slackUserId !== user.slackUserId) return tellClicker(args, 'Only the person who attached this file can send it or cancel it.');
      // Its review is drawn in the DM a moment before it is kept (see SlackListImports.fetch).
      if (state?.stage === 'fetching' && state.dm) return tellClicker(args, "This file's review is still being saved. Press the button again in a moment.");
      if (!state || state.stage !== 'review') return tellClicker(args, `${ALREADY.slice(0, -1)}, or its review is more than a day old. Attach it again to start over.`);
      await act(args, state);
    },
    { changes: true, idempotent: true },
  );
}

/** **Send** on a file's review: its rows are stored in the background, the DM showing how far, then the summary. */
export function importSendAction(deps: SlackDeps) {
  return onReview(deps, async (args, state) => {
    // Of two clicks at once (two instances), one sends.
    const run = await deps.invites.sendReviewedImport(state.id);
    if (!run) return tellClicker(args, ALREADY);
    await replaceMessage(args, fileReviewEnded(state.fileName, 'sending')).catch((error: unknown) => deps.logger.warn({ err: error }, 'a file review could not be redrawn as sending; its progress follows in the same DM'));
    deps.background.run(
      () => deps.listImports.run(run),
      (error) => deps.logger.error({ err: error, import: state.id }, 'a list file import stopped; it is taken over once its lease runs out'),
    );
  });
}

/** **Cancel** on a file's review: nothing of it is invited, and nothing of it is kept. */
export function importCancelAction(deps: SlackDeps) {
  return onReview(deps, async (args, state) => {
    if (!(await deps.invites.cancelReviewedImport(state.id))) return tellClicker(args, ALREADY);
    const cancelled = fileReviewEnded(state.fileName, 'cancelled');
    await showOrTell(deps, args, cancelled.text, () => replaceMessage(args, cancelled));
  });
}
