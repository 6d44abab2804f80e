import { draftForm, reviewOutOfDateView } from '../../blocks/invite-modal.js';
import type { SlackDeps } from '../../deps.js';
import { slackRefusal } from '../../refusals.js';
import { clickedValue, type ClickArgs } from './click.js';

/** "Back" on the review: the form again, as it was typed. */
export function reviewBackAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    const view = args.body.view;
    if (!view) return;
    const draftId = clickedValue(args);
    const draft = await deps.drafts.load(draftId, args.body.user.id);
    if (!draft) {
      // Drawn again since the click (by a send, say): what is in view stays.
      return void (await args.client.views.update({ view_id: view.id, hash: view.hash, view: reviewOutOfDateView() }).catch((error: unknown) => {
        if (slackRefusal(error) !== 'hash_conflict') throw error;
      }));
    }
    // Ended before the form is drawn, so a lookup of picked people whose redraw reaches Slack after the
    // form finds it ended and draws the form again; a send that ended it first keeps what it drew.
    if (!(await deps.drafts.end(String(draftId), 'back'))) return;
    const form = draftForm(deps.inviteTtlMs, draft);
    await args.client.views
      .update({ view_id: view.id, hash: view.hash, view: form })
      .catch((error: unknown) => {
        if (slackRefusal(error) !== 'hash_conflict') throw error;
        // Drawn again since the click, by the lookup of the people picked: Back still wins.
        return args.client.views.update({ view_id: view.id, view: form });
      })
      .catch(async (error: unknown) => {
        // The review stays in view (or the modal was closed meanwhile): it is open again.
        await deps.drafts.reopen(String(draftId)).catch(() => undefined);
        if (slackRefusal(error) !== 'not_found') throw error;
      });
  };
}
