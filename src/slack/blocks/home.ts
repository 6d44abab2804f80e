import type { types } from '@slack/bolt';
import type { Invitation } from '../../invites/model.js';
import type { StatusCounts } from '../../invites/list.js';
import { ACTIONS, DEFAULT_TABLE } from '../action-values.js';
import { invitationButtons, invitationSection, mrkdwn, notice, plain } from './format.js';
import { LIMITS, type Block } from './limits.js';

/** How many pending and how many expired invitations App Home lists. */
export const HOME_ROWS = 5;

export interface HomeData {
  counts: StatusCounts;
  pending: Invitation[];
  expired: Invitation[];
  /** The slash command, as configured (SLACK_COMMAND). */
  command: string;
  notice?: string;
}

/** App Home for admins: counts per status, the latest pending and expired invitations, "Invite people". */
export function homeView(data: HomeData): types.HomeView {
  const blocks: Block[] = [{ type: 'header', text: plain('Invitations', LIMITS.headerText) }];
  if (data.notice) blocks.push(notice(data.notice));
  const c = data.counts;
  blocks.push({
    type: 'section',
    fields: [
      mrkdwn(`*Pending*\n${c.pending}`),
      mrkdwn(`*Expired*\n${c.expired}`),
      mrkdwn(`*Accepted*\n${c.accepted}`),
      mrkdwn(`*Revoked*\n${c.revoked}`),
      // Shown while some wait: they need someone's decision.
      ...(c.awaiting_approval ? [mrkdwn(`*Awaiting approval*\n${c.awaiting_approval}`)] : []),
    ],
  });
  blocks.push({
    type: 'actions',
    block_id: 'home_actions',
    elements: [{ type: 'button', action_id: ACTIONS.openInviteModal, text: plain('Invite people', LIMITS.buttonText), style: 'primary', value: 'home' }],
  });
  const table = { ...DEFAULT_TABLE };
  const section = (title: string, rows: Invitation[], status: 'pending' | 'expired', first: number) => {
    blocks.push({ type: 'divider' }, { type: 'section', text: mrkdwn(`*${title}*`) });
    if (rows.length === 0) blocks.push({ type: 'context', elements: [mrkdwn('None.')] });
    rows.slice(0, HOME_ROWS).forEach((invitation, i) => {
      blocks.push(invitationSection(invitation));
      const buttons = invitationButtons(invitation, 'home', { ...table, status }, first + i);
      if (buttons) blocks.push(buttons);
    });
  };
  section('Latest pending', data.pending, 'pending', 0);
  section('Latest expired', data.expired, 'expired', HOME_ROWS);
  blocks.push({ type: 'context', elements: [mrkdwn(`Use \`${data.command} invites\` for the whole table, \`${data.command} members\` for members.`)] });
  return { type: 'home', blocks };
}

/** App Home for everyone else. */
export function refusedHomeView(text: string): types.HomeView {
  return { type: 'home', blocks: [{ type: 'header', text: plain('Doorman', LIMITS.headerText) }, { type: 'section', text: mrkdwn(text) }] };
}
