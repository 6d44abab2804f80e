import type { types } from '@slack/bolt';
import { approvalReasons, APPROVAL_REASON_WORDS, type InvitePolicy } from '../../invites/policy.js';
import { ROLES, type Role } from '../../members/roles.js';
import { DAY_MS } from '../../shared/clock.js';
import { ACTIONS, INVITE_MODAL, INVITE_REVIEW, MODAL_BLOCKS, MODAL_INPUTS, REVIEW_BLOCKS, REVIEW_INPUTS } from '../action-values.js';
import { EXPIRY_CHOICES, MAX_MESSAGE_CHARS } from '../../invites/choices.js';
import { MAX_FILE_ROWS } from '../../invites/list-file.js';
import { formatSpan } from '../../mail/templates.js';
import type { InviteDraft } from '../drafts.js';
import { count, entryWords, mrkdwn, plain, roleLabel } from './format.js';
import type { InviteSummary } from '../../invites/model.js';
import type { ListReview } from '../../invites/review.js';
import { inviteSummary } from './invite-summary.js';
import { clip, LIMITS } from './limits.js';
import { escape } from '../text.js';

/** People picked in one form: each is a users.info lookup before the review (Slack sets no limit of its own). */
export const MAX_PICKED_PEOPLE = 100;

const TITLE = 'Invite people';

/** What the form shows when it opens again (Back from the review). */
export interface InviteFormValues {
  typed?: string;
  people?: string[];
  role?: Role;
  expiresInDays?: number | null;
  message?: string | null;
}

/** The expiry choices, labelled; `default` is INVITE_TTL when it is none of them. */
function expiryOptions(inviteTtlMs: number): Array<types.PlainTextOption> {
  const defaultDays = inviteTtlMs / DAY_MS;
  const options = EXPIRY_CHOICES.map((days) => ({ text: plain(`${days} ${days === 1 ? 'day' : 'days'}${days === defaultDays ? ' (default)' : ''}`, LIMITS.optionText), value: String(days) }));
  if (!(EXPIRY_CHOICES as readonly number[]).includes(defaultDays)) options.unshift({ text: plain(`Default (${formatSpan(inviteTtlMs)})`, LIMITS.optionText), value: 'default' });
  return options;
}

/**
 * The invite form (the invite command alone, the shortcut, App Home): addresses, Slack people,
 * role (Member by default), how long the links work (INVITE_TTL by default) and a personal message.
 * Submitting it shows a review; nothing is sent before the review's "Send".
 */
export function inviteModal(inviteTtlMs: number, values: InviteFormValues = {}): types.ModalView {
  const roleOptions = ROLES.map((role) => ({ text: plain(roleLabel(role), LIMITS.optionText), value: role }));
  const expiries = expiryOptions(inviteTtlMs);
  const chosenExpiry = expiries.find((o) => o.value === String(values.expiresInDays ?? inviteTtlMs / DAY_MS)) ?? expiries[0]!;
  return {
    type: 'modal',
    callback_id: INVITE_MODAL,
    title: plain(TITLE, LIMITS.modalTitle),
    submit: plain('Review', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks: [
      {
        type: 'input',
        block_id: MODAL_BLOCKS.emails,
        optional: true,
        label: plain('Email addresses'),
        hint: plain('One per line or comma-separated. "Jane Doe <jane@example.com>" works too.'),
        element: {
          type: 'plain_text_input',
          action_id: MODAL_INPUTS.emails,
          multiline: true,
          max_length: 3000,
          placeholder: plain('jane@example.com\nsam@example.com'),
          ...(values.typed ? { initial_value: values.typed.slice(0, 3000) } : {}),
        },
      },
      {
        type: 'input',
        block_id: MODAL_BLOCKS.users,
        optional: true,
        label: plain('People in Slack'),
        hint: plain('Their email addresses are taken from their Slack profiles.'),
        element: { type: 'multi_users_select', action_id: MODAL_INPUTS.users, placeholder: plain('Choose people'), max_selected_items: MAX_PICKED_PEOPLE, ...(values.people?.length ? { initial_users: values.people.slice(0, MAX_PICKED_PEOPLE) } : {}) },
      },
      {
        type: 'input',
        block_id: MODAL_BLOCKS.file,
        optional: true,
        label: plain('Or a file'),
        hint: plain(`A .csv with a header row (email, and optionally first_name, last_name, role) or a .txt with one address per line; up to ${MAX_FILE_ROWS.toLocaleString('en')} addresses, reviewed in your DM before anything is sent.`),
        element: { type: 'file_input', action_id: MODAL_INPUTS.file, filetypes: ['csv', 'txt'], max_files: 1 },
      },
      {
        type: 'input',
        block_id: MODAL_BLOCKS.role,
        label: plain('Role'),
        element: { type: 'static_select', action_id: MODAL_INPUTS.role, options: roleOptions, initial_option: roleOptions[ROLES.indexOf(values.role ?? 'member')] },
      },
      {
        type: 'input',
        block_id: MODAL_BLOCKS.expiry,
        label: plain('Links work for'),
        element: { type: 'static_select', action_id: MODAL_INPUTS.expiry, options: expiries, initial_option: chosenExpiry },
      },
      {
        type: 'input',
        block_id: MODAL_BLOCKS.message,
        optional: true,
        label: plain('Personal message'),
        hint: plain('Shown in the email and on the page where they accept. Plain text.'),
        element: {
          type: 'plain_text_input',
          action_id: MODAL_INPUTS.message,
          multiline: true,
          max_length: MAX_MESSAGE_CHARS,
          ...(values.message ? { initial_value: values.message } : {}),
        },
      },
    ],
  };
}

/** The form again, as a review's draft holds what was typed and chosen (Back). */
export function draftForm(inviteTtlMs: number, draft: InviteDraft): types.ModalView {
  return inviteModal(inviteTtlMs, { typed: draft.typed, people: draft.people, role: draft.role, expiresInDays: draft.expiresInDays, message: draft.message });
}

/** A review already sent or left by Back, or too old: nothing to do from it. */
export function reviewOutOfDateView(): types.ModalView {
  return messageView('Invite people', 'This review is out of date. Open the form again to start over.');
}

/** How many addresses each group of the review shows before "and N more". */
export const REVIEW_ROWS = 15;

/**
 * What sending a list would do, group by group, with likely typos named: the form's review and a
 * file's. `roleOf`: the role an address would get (a file's row may name its own), for the rule
 * "Policy"'s approvals. `afterInvited`: what goes under the already invited (the form's resend box).
 * `groupChars`: the text one group may take (a message's blocks have a total Slack takes).
 */
export function reviewSections(review: ListReview, roleOf: (email: string) => Role, options: { policy?: InvitePolicy; afterInvited?: types.KnownBlock; groupChars?: number } = {}): types.KnownBlock[] {
  const { policy, afterInvited, groupChars = LIMITS.text } = options;
  const blocks: types.KnownBlock[] = [];
  const group = (title: string, items: string[]) => {
    if (!items.length) return;
    const head = `*${title} (${items.length.toLocaleString('en')})*`;
    const more = items.length > REVIEW_ROWS ? `\n…and ${(items.length - REVIEW_ROWS).toLocaleString('en')} more` : '';
    // The count and "and N more" stay whole; the lines shown give way.
    const shown = clip(items.slice(0, REVIEW_ROWS).join('\n'), Math.max(0, groupChars - head.length - more.length - 1));
    blocks.push({ type: 'section', text: mrkdwn(`${head}\n${shown}${more}`) });
  };
  const typo = new Map(review.typos.map((t) => [t.email, t.suggestion]));
  const withTypo = (email: string) => `• ${escape(email)}${typo.has(email) ? ` — did you mean *${escape(typo.get(email)!)}*?` : ''}`;
  // Likely typos first, so a group cut at REVIEW_ROWS never hides one.
  const typosFirst = (emails: readonly string[]) => [...emails.filter((e) => typo.has(e)), ...emails.filter((e) => !typo.has(e))];
  group('New', typosFirst(review.fresh).map(withTypo));
  group('Will renew (expired: a new link)', typosFirst(review.renew).map(withTypo));
  // The rule "Policy": of those, the ones stored as requests and emailed only once someone else approves.
  if (policy) {
    const asker = { type: 'slack', slackUserId: 'reviewer' } as const;
    const held = [...review.fresh, ...review.renew].flatMap((email) => {
      const reasons = approvalReasons(policy, asker, email, roleOf(email));
      return reasons.length ? [`• ${escape(email)} — ${reasons.map((r) => APPROVAL_REASON_WORDS[r]).join('; ')}`] : [];
    });
    group('Of these, waiting for approval before they are emailed', held);
  }
  if (review.alreadyInvited.length) {
    group('Already invited (their link still works)', typosFirst(review.alreadyInvited.map((e) => e.email)).map(withTypo));
    if (afterInvited) blocks.push(afterInvited);
  }
  group('Already waiting for approval (skipped)', (review.alreadyAwaiting ?? []).map((e) => `• ${escape(e.email)}`));
  group('Already members (skipped)', review.alreadyMember.map((e) => `• ${escape(e)}`));
  group('Not valid (skipped)', review.invalid.map((e) => `• ${entryWords(e.entry, 120)} — ${escape(e.reason)}`));
  return blocks;
}

/** The choices a list goes out with, in a line. */
export function choicesLine(choices: { role: Role; expiresInDays: number | null; message: string | null }, roleNote = ''): string {
  return [`Role: *${roleLabel(choices.role)}*${roleNote}`, choices.expiresInDays ? `links work for ${count(choices.expiresInDays, 'day')}` : 'links work for the usual time', choices.message ? 'with your message' : 'no message'].join(' · ');
}

/** The label of a button that sends this many invitations. */
export function sendLabel(sending: number): string {
  return sending ? `Send ${sending.toLocaleString('en')} ${sending === 1 ? 'invitation' : 'invitations'}` : 'Send';
}

/**
 * The review of a submitted list. "Send" sends exactly the New and Will renew groups (and resends
 * the already invited when the box is ticked); Back returns to the form as typed.
 */
export function reviewView(draftId: string, draft: InviteDraft, policy?: InvitePolicy): types.ModalView {
  const review = draft.review;
  const sending = review.fresh.length + review.renew.length;
  const resendBox: types.KnownBlock = {
    type: 'input',
    block_id: REVIEW_BLOCKS.resend,
    optional: true,
    label: plain('Already invited'),
    element: { type: 'checkboxes', action_id: REVIEW_INPUTS.resend, options: [{ text: plain('Resend to them too (the same link)', LIMITS.optionText), value: 'resend' }] },
  };
  const blocks = reviewSections(review, () => draft.role, { policy, afterInvited: resendBox });
  if (draft.peoplePending) blocks.push({ type: 'context', elements: [mrkdwn(`:hourglass_flowing_sand: Looking up ${count(draft.people.length, 'person', 'people')} from Slack…`)] });
  if (!blocks.length) blocks.push({ type: 'section', text: mrkdwn('Nothing to send.') });
  blocks.push({ type: 'context', elements: [mrkdwn(choicesLine(draft))] });
  blocks.push({ type: 'actions', block_id: 'review_actions', elements: [{ type: 'button', action_id: ACTIONS.reviewBack, text: plain('Back', LIMITS.buttonText), value: draftId }] });
  return {
    type: 'modal',
    callback_id: INVITE_REVIEW,
    private_metadata: draftId,
    title: plain('Review', LIMITS.modalTitle),
    submit: plain(sendLabel(sending), LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks: blocks.slice(0, LIMITS.viewBlocks),
  };
}

/**
 * Shown once the modal is submitted: what was done with the typed addresses (already stored), and
 * the people picked from Slack being looked up; the whole summary follows as a DM.
 */
export function invitedView(typed: InviteSummary | undefined, people: number, command: string): types.ModalView {
  const blocks: types.KnownBlock[] = [];
  if (typed) {
    // The summary's words without its buttons (Resend acts in the DM that follows, where they are).
    const sections = inviteSummary(typed, command).blocks.flatMap((block) => (block.type === 'section' && block.text ? [{ type: 'section' as const, text: block.text }] : []));
    blocks.push(...sections.slice(0, 20));
  }
  if (people) blocks.push({ type: 'section', text: mrkdwn(`:hourglass_flowing_sand: Looking up ${count(people, 'person', 'people')} from Slack…`) });
  blocks.push({ type: 'context', elements: [mrkdwn("I'll send you the whole summary in a direct message, kept up to date as the emails go out.")] });
  return { type: 'modal', title: plain(TITLE, LIMITS.modalTitle), close: plain('Done', LIMITS.modalButton), blocks };
}

/** Shown when the list could not be stored in time for the answer: the work goes on, and the summary arrives as a DM. */
export function inviteSendingView(addresses?: number): types.ModalView {
  return {
    type: 'modal',
    title: plain(TITLE, LIMITS.modalTitle),
    close: plain('Done', LIMITS.modalButton),
    blocks: [{ type: 'section', text: mrkdwn(`:hourglass_flowing_sand: Inviting ${addresses === undefined ? 'them' : count(addresses, 'address', 'addresses')}… I'll send you the summary in a direct message.`) }],
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

/** The form's answer when a file was attached: the list is read, then reviewed in the inviter's DM. */
export function importingView(fileName: string): types.ModalView {
  return messageView(TITLE, `:inbox_tray: Reading *${escape(clip(fileName, 200))}*. Your DM from Doorman shows what sending it would do; nothing is sent until you press Send there.`);
}
