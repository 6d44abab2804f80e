import type { types } from '@slack/bolt';
import { ROLES } from '../../members/roles.js';
import { INVITE_MODAL, MODAL_BLOCKS, MODAL_INPUTS } from '../values.js';
import { count, mrkdwn, plain, roleLabel } from './format.js';
import { LIMITS } from './limits.js';

const TITLE = 'Invite people';

/** The invite modal (`/invite` alone, App Home): emails, Slack people, role (Member by default). */
export function inviteModal(): types.ModalView {
  const roleOptions = ROLES.map((role) => ({ text: plain(roleLabel(role), LIMITS.optionText), value: role }));
  return {
    type: 'modal',
    callback_id: INVITE_MODAL,
    title: plain(TITLE, LIMITS.modalTitle),
    submit: plain('Send invitations', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks: [
      {
        type: 'input',
        block_id: MODAL_BLOCKS.emails,
        optional: true,
        label: plain('Email addresses'),
        hint: plain('One per line or comma-separated. "Jane Doe <jane@example.com>" works too.'),
        element: { type: 'plain_text_input', action_id: MODAL_INPUTS.emails, multiline: true, max_length: 3000, placeholder: plain('jane@example.com\nsam@example.com') },
      },
      {
        type: 'input',
        block_id: MODAL_BLOCKS.users,
        optional: true,
        label: plain('People in Slack'),
        hint: plain('Their email addresses are taken from their Slack profiles.'),
        element: { type: 'multi_users_select', action_id: MODAL_INPUTS.users, placeholder: plain('Choose people') },
      },
      {
        type: 'input',
        block_id: MODAL_BLOCKS.role,
        label: plain('Role'),
        element: { type: 'static_select', action_id: MODAL_INPUTS.role, options: roleOptions, initial_option: roleOptions[ROLES.indexOf('member')] },
      },
    ],
  };
}

/** Shown once the modal is submitted: the work goes on, and the summary arrives as a DM. */
export function inviteSendingView(addresses: number): types.ModalView {
  return {
    type: 'modal',
    title: plain(TITLE, LIMITS.modalTitle),
    close: plain('Done', LIMITS.modalButton),
    blocks: [{ type: 'section', text: mrkdwn(`:hourglass_flowing_sand: Inviting ${count(addresses, 'address', 'addresses')}… I'll send you the summary in a direct message.`) }],
  };
}

/** A modal for someone who may not invite (replaces the form; nothing was sent). */
export function refusedView(text: string): types.ModalView {
  return { type: 'modal', title: plain(TITLE, LIMITS.modalTitle), close: plain('Close', LIMITS.modalButton), blocks: [{ type: 'section', text: mrkdwn(text) }] };
}
