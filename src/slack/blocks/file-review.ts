import type { types } from '@slack/bolt';
import type { ListImportState } from '../../invites/import-state.js';
import type { InvitePolicy } from '../../invites/policy.js';
import type { ListReview } from '../../invites/review.js';
import type { Role } from '../../members/roles.js';
import { ACTIONS } from '../action-values.js';
import { mrkdwn, plain } from './format.js';
import { choicesLine, reviewSections, sendLabel } from './invite-modal.js';
import { clip, LIMITS } from './limits.js';
import { escape } from '../text.js';

/** The text each of a file review's (up to seven) groups may take, so the message stays within the total Slack takes. */
const GROUP_CHARS = 1_400;

/**
 * A file's review, in its inviter's DM: what sending it would do, group by group, and **Send** or
 * **Cancel**. Nothing of it is stored as an invitation before Send.
 */
export function fileReviewMessage(state: Pick<ListImportState, 'id' | 'fileName' | 'choices'>, review: ListReview, roleOf: (email: string) => Role, policy?: InvitePolicy): { text: string; blocks: types.KnownBlock[] } {
  const sending = review.fresh.length + review.renew.length;
  const name = escape(clip(state.fileName, 200));
  const text = `:mag: *${name}*: here is what sending it would do. Nothing is sent until you press ${sendLabel(sending)}.`;
  const blocks: types.KnownBlock[] = [
    { type: 'section', text: mrkdwn(text) },
    ...reviewSections(review, roleOf, { policy, groupChars: GROUP_CHARS }),
    { type: 'context', elements: [mrkdwn(choicesLine(state.choices, ' (or the role a row names)'))] },
    {
      type: 'actions',
      block_id: 'import_review',
      elements: [
        { type: 'button', action_id: ACTIONS.importSend, text: plain(sendLabel(sending), LIMITS.buttonText), style: 'primary', value: state.id },
        { type: 'button', action_id: ACTIONS.importCancel, text: plain('Cancel', LIMITS.buttonText), value: state.id },
      ],
    },
  ];
  return { text: `${state.fileName}: review before sending`, blocks: blocks.slice(0, LIMITS.messageBlocks) };
}

/** The file's review after Send or Cancel, its buttons gone. */
export function fileReviewEnded(fileName: string, how: 'sending' | 'cancelled'): { text: string; blocks: types.KnownBlock[] } {
  const name = escape(clip(fileName, 200));
  const text = how === 'sending' ? `:hourglass_flowing_sand: Sending *${name}*…` : `:x: Cancelled: nothing of *${name}* was invited.`;
  return { text, blocks: [{ type: 'section', text: mrkdwn(text) }] };
}
