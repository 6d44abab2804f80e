import type { SlackDeps } from '../../deps.js';
import { escape } from '../../blocks/limits.js';
import { decodeRow } from '../../values.js';
import { failureWords, onClick, postToClicker, showOutcome } from './surfaces.js';

/**
 * Copy link (pending): the link, shown only to the admin who asked, with unfurling off so no
 * preview fetches it (Rule 5). The table itself stays as it is.
 */
export function copyLinkAction(deps: SlackDeps) {
  return onClick(deps, decodeRow, async (args, row) => {
    let link: { email: string; url: string };
    try {
      const { invitation, link: url } = await deps.invites.copyLink(row.invitationId);
      link = { email: invitation.email, url };
    } catch (error) {
      return showOutcome(deps, args, row, await failureWords(deps, error, () => deps.invites.get(row.invitationId), 'copy link'));
    }
    const text = `:link: Invitation link for *${escape(link.email)}* (only you can see this):\n${link.url}`;
    // From App Home there is no message to answer: a direct message is seen only by the clicker too.
    await postToClicker(args, { text, unfurl_links: false, unfurl_media: false });
  });
}
