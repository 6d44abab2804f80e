import { decodeImportId } from '../../action-values.js';
import { fileReviewEnded } from '../../blocks/file-review.js';
import type { SlackDeps } from '../../deps.js';
import type { SlackUser } from '../../identity.js';
import { onClick, replaceMessage, tellClicker, type ClickArgs } from './click.js';

/** The review's import, when this clicker may still act on it; otherwise they are told why. */
async function reviewed(deps: SlackDeps, args: ClickArgs, id: string, user: SlackUser) {
  const state = await deps.invites.findListImport(id);
  if (state && state.slackUserId !== user.slackUserId) return void (await tellClicker(args, 'Only the person who attached this file can send it or cancel it.'));
  // Its review is drawn in the DM a moment before it is kept (see SlackListImports.fetch).
  if (state?.stage === 'fetching' && state.dm) return void (await tellClicker(args, "This file's review is still being saved. Press the button again in a moment."));
  if (!state || state.stage !== 'review') return void (await tellClicker(args, 'This file was already sent or cancelled, or its review is more than a day old. Attach it again to start over.'));
  return state;
}

/** **Send** on a file's review: its rows are stored in the background, the DM showing how far, then the summary. */
export function importSendAction(deps: SlackDeps) {
  return onClick(
    deps,
    decodeImportId,
    async (args, id, user) => {
      const state = await reviewed(deps, args, id, user);
      if (!state) return;
      // Of two clicks at once (two instances), one sends.
      const run = await deps.invites.sendReviewedImport(id);
      if (!run) return tellClicker(args, 'This file was already sent or cancelled.');
      await replaceMessage(args, fileReviewEnded(state.fileName, 'sending')).catch((error: unknown) => deps.logger.warn({ err: error }, 'a file review could not be redrawn as sending; its progress follows in the same DM'));
      deps.background.run(
        () => deps.listImports.run(run),
        (error) => deps.logger.error({ err: error, import: id }, 'a list file import stopped; it is taken over once its lease runs out'),
      );
    },
    // The import's own state lets one Send or Cancel through: a press again (asked for, or a double click) is answered.
    { changes: true, idempotent: true },
  );
}

/** **Cancel** on a file's review: nothing of it is invited, and nothing of it is kept. */
export function importCancelAction(deps: SlackDeps) {
  return onClick(
    deps,
    decodeImportId,
    async (args, id, user) => {
      const state = await reviewed(deps, args, id, user);
      if (!state) return;
      if (!(await deps.invites.cancelReviewedImport(id))) return tellClicker(args, 'This file was already sent or cancelled.');
      await replaceMessage(args, fileReviewEnded(state.fileName, 'cancelled'));
    },
    // The import's own state lets one Send or Cancel through: a press again (asked for, or a double click) is answered.
    { changes: true, idempotent: true },
  );
}
