import { decodeRow } from '../../action-values.js';
import { linkView, loadingView, messageView } from '../../blocks/invite-modal.js';
import type { SlackDeps } from '../../deps.js';
import { repeatClaims } from '../../dedupe.js';
import { openWithTrigger } from '../open-modal.js';
import { SOMETHING_WENT_WRONG } from '../../errors.js';
import { escape } from '../../text.js';
import { payloadTeam } from '../../identity.js';
import { clickedValue, failureWords, onClick, postToClicker, showOutcome, type ClickArgs } from './click.js';

/**
 * Copy link (pending): the link only for the admin who asked, never as a lasting message. Beside
 * a message it is an ephemeral reply with unfurling off (no preview fetches it); from App Home,
 * where there is no message to answer, a small modal — opened first, filled once the link is read.
 */
export function copyLinkAction(deps: SlackDeps) {
  const inMessage = onClick(deps, decodeRow, async (args, row) => {
    let link: { email: string; url: string };
    try {
      const { invitation, link: url } = await deps.invites.copyLink(row.invitationId);
      link = { email: invitation.email, url };
    } catch (error) {
      return showOutcome(deps, args, row, await failureWords(deps, error, () => deps.invites.get(row.invitationId), 'copy link'));
    }
    await postToClicker(args, { text: `:link: Invitation link for *${escape(link.email)}* (only you can see this):\n${link.url}`, unfurl_links: false, unfurl_media: false });
  }, { reveals: true });
  return async (args: ClickArgs) => {
    if (args.body.response_url) return inMessage(args);
    await args.ack();
    // The same click delivered again (a retry): its window is open already.
    if (!(await deps.dedupe.first(repeatClaims({ triggerId: args.body.trigger_id })))) return;
    const opened = await openWithTrigger(deps, args.body.trigger_id, loadingView('Invitation link'), (text) => postToClicker(args, { text }));
    // Opened by a try whose answer was lost: its view cannot be filled in, so the clicker is told (never the link, in a DM that lasts).
    if (opened === null) return postToClicker(args, { text: 'Slack did not say which window it opened for the link. Close it and press Copy link again.' });
    if (!opened) return;
    const show = (view: ReturnType<typeof linkView>) => args.client.views.update({ view_id: opened.id!, hash: opened.hash, view });
    try {
      const row = decodeRow(clickedValue(args));
      if (!row) return void (await show(messageView('Invitation link', 'This button is out of date. Open the Home tab again.')));
      const user = await deps.identities.identify(args.body.user.id, payloadTeam(args.body), { changes: true });
      if (!user.allowed) return void (await show(messageView('Invitation link', user.refusal!)));
      try {
        const { invitation, link } = await deps.invites.copyLink(row.invitationId);
        await show(linkView(invitation.email, link));
      } catch (error) {
        await show(messageView('Invitation link', await failureWords(deps, error, () => deps.invites.get(row.invitationId), 'copy link')));
      }
    } catch (error) {
      // The window opened says so, instead of "One moment…" for good.
      deps.logger.error({ err: error }, 'Copy link from App Home failed');
      await show(messageView('Invitation link', SOMETHING_WENT_WRONG)).catch(() => undefined);
    }
  };
}
