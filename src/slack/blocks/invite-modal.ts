import type { types } from '@slack/bolt';
import { ROLES } from '../../members/roles.js';
import { INVITE_MODAL, MODAL_BLOCKS, MODAL_INPUTS } from '../action-values.js';
import { count, mrkdwn, plain, roleLabel } from './format.js';
import type { InviteSummary } from '../../invites/model.js';
import { inviteSummary } from './invite-summary.js';
import { LIMITS } from './limits.js';
import { escape } from '../text.js';

const TITLE = 'Invite people';

/** The invite modal (the invite command alone, the shortcut, App Home): emails, Slack people, role (Member by default). */
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

/**
 * Shown once the modal is submitted: what was done with the typed addresses (already stored), and
 * the people picked from Slack being looked up; the whole summary follows as a DM.
 */
export function invitedView(typed: InviteSummary | undefined, people: number, command: string): types.ModalView {
  const blocks: types.KnownBlock[] = [];
  if (typed) {
    const summary = inviteSummary(typed, command);
    blocks.push(...summary.blocks.filter((block) => block.type === 'section' && !('accessory' in block && block.accessory)).slice(0, 20));
  }
  if (people) blocks.push({ type: 'section', text: mrkdwn(`:hourglass_flowing_sand: Looking up ${count(people, 'person', 'people')} from Slack…`) });
  blocks.push({ type: 'context', elements: [mrkdwn("I'll send you the whole summary in a direct message, kept up to date as the emails go out.")] });
  return { type: 'modal', title: plain(TITLE, LIMITS.modalTitle), close: plain('Done', LIMITS.modalButton), blocks };
}

/** Shown when the list could not be stored in time for the answer: the work goes on, and the summary arrives as a DM. */
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

/** Opened at once while what a modal shows is still being read (a trigger works once, for 3 seconds). */
export function loadingView(title: string): types.ModalView {
  return { type: 'modal', title: plain(title, LIMITS.modalTitle), close: plain('Close', LIMITS.modalButton), blocks: [{ type: 'section', text: mrkdwn(':hourglass_flowing_sand: One moment…') }] };
}

/** Copy link from App Home: the link in a modal only the clicker sees, never a lasting message. */
export function linkView(email: string, link: string): types.ModalView {
  return {
    type: 'modal',
    title: plain('Invitation link', LIMITS.modalTitle),
    close: plain('Done', LIMITS.modalButton),
    blocks: [
      { type: 'section', text: mrkdwn(`The invitation link for *${escape(email)}*. Anyone with it can accept the invitation: share it only with them.`) },
      { type: 'section', text: { type: 'plain_text', text: link, emoji: false } },
    ],
  };
}

/** A modal that only says something (a refusal, an error); replaces what was open. */
export function messageView(title: string, text: string): types.ModalView {
  return { type: 'modal', title: plain(title, LIMITS.modalTitle), close: plain('Close', LIMITS.modalButton), blocks: [{ type: 'section', text: mrkdwn(text) }] };
}
