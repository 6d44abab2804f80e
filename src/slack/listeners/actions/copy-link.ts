import type { SlackDeps } from '../../deps.js';
import { escape } from '../../blocks/limits.js';
import { slackWords, SOMETHING_WENT_WRONG, STALE_BUTTON } from '../../errors.js';
import { decodeRow } from '../../values.js';
import { clickedValue, clicker, postToClicker, showOutcome, tellClicker, type ClickArgs } from './surfaces.js';

/**
 * Copy link (pending): the link, shown only to the admin who asked, with unfurling off so no
 * preview fetches it (Rule 5). The table itself stays as it is.
 */
export function copyLinkAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    const row = decodeRow(clickedValue(args));
    if (!row) return tellClicker(deps, args, STALE_BUTTON);
    const user = await clicker(deps, args);
    if (!user) return;
    let link: { email: string; url: string };
    try {
      const { invitation, link: url } = await deps.invites.copyLink(row.invitationId);
      link = { email: invitation.email, url };
    } catch (error) {
      const current = await deps.invites.get(row.invitationId).catch(() => undefined);
      const words = slackWords(error, current?.email);
      if (!words) deps.logger.error({ err: error }, 'copy link failed');
      return showOutcome(deps, args, row, words ?? SOMETHING_WENT_WRONG);
    }
    const text = `:link: Invitation link for *${escape(link.email)}* (only you can see this):\n${link.url}`;
    // From App Home there is no message to answer: a direct message is seen only by the clicker too.
    await postToClicker(args, { text, unfurl_links: false, unfurl_media: false });
  };
}
