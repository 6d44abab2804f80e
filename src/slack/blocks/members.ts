import type { types } from '@slack/bolt';
import { displayName, type Member } from '../../members/service.js';
import { ROLES } from '../../members/roles.js';
import { ACTIONS, encodeMember, encodeMemberRole, MEMBERS_PAGE_SIZE } from '../action-values.js';
import { mrkdwn, notice, plain, roleLabel } from './format.js';
import { clip, LIMITS, type Block } from './limits.js';
import { escape, neutralize, plainFallback } from '../text.js';

export interface MembersListData {
  members: Member[];
  total: number;
  offset: number;
  /** The slash command, as configured (SLACK_COMMAND). */
  command: string;
  notice?: string;
  /** When the list is drawn: its Deactivate buttons act only on members not deactivated since. */
  drawnAt?: number;
}

/** The members list: name, email, role and state; a role select and a Deactivate button for active members. */
export function membersList(data: MembersListData): { text: string; blocks: Block[] } {
  const blocks: Block[] = [{ type: 'section', text: mrkdwn(`*Members* (${data.total.toLocaleString('en')})`) }];
  if (data.notice) blocks.push(notice(data.notice));
  blocks.push({ type: 'divider' });
  if (data.members.length === 0) blocks.push({ type: 'section', text: mrkdwn(`No members yet. Invite people with \`${data.command} invite\`.`) });

  data.members.slice(0, MEMBERS_PAGE_SIZE).forEach((member, i) => {
    const name = displayName(member);
    const state = member.state === 'active' ? 'Active' : ':zzz: Deactivated';
    const who = name === member.email ? `*${escape(clip(member.email, 320))}*` : `*${neutralize(clip(name, 200))}* · ${escape(clip(member.email, 320))}`;
    const slack = member.slackUserId ? ` · <@${member.slackUserId}>` : '';
    blocks.push({ type: 'section', text: mrkdwn(`${who}${slack}\n${roleLabel(member.role)} · ${state}`) });
    if (member.state !== 'active') return;
    const options = ROLES.map((role) => ({ text: plain(roleLabel(role), LIMITS.optionText), value: encodeMemberRole({ memberId: member.id, role, offset: data.offset }) }));
    const deactivate: types.Button = {
      type: 'button',
      action_id: `${ACTIONS.memberDeactivate}_${i}`,
      text: plain('Deactivate', LIMITS.buttonText),
      style: 'danger',
      value: encodeMember({ memberId: member.id, offset: data.offset, drawnAt: data.drawnAt }),
      confirm: {
        title: plain('Deactivate this member?', LIMITS.confirmTitle),
        text: plain(`${clip(member.email, 200)} can no longer sign in, and their API token stops working.`, LIMITS.confirmText),
        confirm: plain('Deactivate', LIMITS.confirmButton),
        deny: plain('Cancel', LIMITS.confirmButton),
        style: 'danger',
      },
    };
    blocks.push({
      type: 'actions',
      block_id: `member_${i}`,
      elements: [{ type: 'static_select', action_id: `${ACTIONS.memberRole}_${i}`, placeholder: plain('Role', LIMITS.optionText), options, initial_option: options[ROLES.indexOf(member.role)] }, deactivate],
    });
  });

  const paging: types.Button[] = [];
  if (data.offset > 0) paging.push({ type: 'button', action_id: `${ACTIONS.membersPage}_0`, text: plain('← Prev', LIMITS.buttonText), value: String(Math.max(0, data.offset - MEMBERS_PAGE_SIZE)) });
  if (data.offset + MEMBERS_PAGE_SIZE < data.total) paging.push({ type: 'button', action_id: `${ACTIONS.membersPage}_1`, text: plain('Next →', LIMITS.buttonText), value: String(data.offset + MEMBERS_PAGE_SIZE) });
  if (paging.length) blocks.push({ type: 'actions', block_id: 'members_paging', elements: paging });
  return { text: data.notice ? plainFallback(data.notice) : `Members (${data.total})`, blocks };
}
