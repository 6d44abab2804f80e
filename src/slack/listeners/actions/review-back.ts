import { inviteModal, messageView } from '../../blocks/invite-modal.js';
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
    const next = draft
      ? inviteModal(deps.inviteTtlMs, { typed: draft.typed, people: draft.people, role: draft.role, expiresInDays: draft.expiresInDays, message: draft.message })
      : messageView('Invite people', 'This review is out of date. Open the form again to start over.');
    try {
      await args.client.views.update({ view_id: view.id, hash: view.hash, view: next });
    } catch (error) {
      if (slackRefusal(error) !== 'hash_conflict') throw error;
      // Drawn again since the click: by the lookup of the people picked (the draft is still here, and
      // Back still wins), or by a send (the draft is gone, and what was sent stays in view).
      if (!draft || !(await deps.drafts.load(draftId, args.body.user.id))) return;
      await args.client.views.update({ view_id: view.id, view: next });
    }
    // The form now holds all the draft held: ending it keeps a lookup of picked people, still under
    // way, from drawing this review again over the form. (Not before: a refused update leaves the review.)
    if (draft) await deps.drafts.end(String(draftId), 'back');
  };
}
