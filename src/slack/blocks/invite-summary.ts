import type { types } from '@slack/bolt';
import type { InviteSummary } from '../../invites/model.js';
import { ACTIONS, DEFAULT_TABLE, encodeRow } from '../action-values.js';
import { count, entryWords, listWithin, mrkdwn, plain } from './format.js';
import { LIMITS, clip, type Block } from './limits.js';
import { escape } from '../text.js';
import { APPROVAL_REASON_WORDS } from '../../invites/policy.js';

/** At most this many "already invited" addresses get their own Resend button. */
export const MAX_RESEND_BUTTONS = 10;
/**
 * What the summary's lists may hold in all: Slack refuses a posted message whose blocks hold about
 * 12,000 characters of text (`msg_blocks_too_long`, not documented), and a list's DM is a post.
 */
export const SUMMARY_LISTS_TEXT = 9_000;

import type { DeliveryProgress } from '../../invites/list.js';

export type { DeliveryProgress };

/**
 * The one answer to an invite request (the rule "Skips"): how many were sent, then each skipped or invalid
 * address with its reason; "already invited" addresses get a Resend button.
 */
export function inviteSummary(summary: InviteSummary, command: string, progress?: DeliveryProgress): { text: string; blocks: Block[] } {
  const blocks: Block[] = [];
  const emailed = summary.sent.length + summary.renewed.length;
  const resent = summary.resent?.length ?? 0;
  const headline =
    emailed > 0 || resent > 0
      ? `:incoming_envelope: *Sent ${count(emailed, 'invitation')}.*` +
        (summary.renewed.length ? ` ${count(summary.renewed.length, 'expired invitation was', 'expired invitations were')} renewed with a new link.` : '') +
        (resent ? ` Resent ${count(resent, 'invitation')} with the same link.` : '')
      : ':information_source: *No invitations were sent.*';
  blocks.push({ type: 'section', text: mrkdwn(headline) });

  if (progress && progress.total > 0) {
    const failing = progress.failing ? ` · :x: ${progress.failing.toLocaleString('en')} failing (they are retried)` : '';
    const done = progress.sent >= progress.total ? ' :white_check_mark:' : '…';
    blocks.push({ type: 'context', elements: [mrkdwn(`Emails queued: ${progress.total.toLocaleString('en')} · delivered: ${progress.sent.toLocaleString('en')}${done}${failing}`)] });
  }

  // The lists share one budget, less what the Resend rows take; each still fits its section.
  const awaiting = summary.awaitingApproval ?? [];
  const overLimit = summary.overLimit ?? [];
  const alreadyAwaiting = summary.alreadyAwaiting ?? [];
  const resendRows = summary.alreadyInvited.slice(0, MAX_RESEND_BUTTONS).reduce((sum, entry) => sum + escape(clip(entry.email, 320)).length + 2, 0);
  const lists = [summary.alreadyMember, summary.alreadyInvited.slice(MAX_RESEND_BUTTONS), alreadyAwaiting, awaiting, overLimit, summary.invalid].filter((list) => list.length > 0).length;
  const share = (room: number) => Math.min(room, Math.floor((SUMMARY_LISTS_TEXT - resendRows) / Math.max(1, lists)));

  if (summary.alreadyMember.length) {
    const list = listWithin(summary.alreadyMember.map((e) => `• ${escape(e)}`), share(LIMITS.text - 100));
    blocks.push({ type: 'section', text: mrkdwn(`*Skipped — already a member (${summary.alreadyMember.length.toLocaleString('en')}):*\n${list}`) });
  }

  if (summary.alreadyInvited.length) {
    blocks.push({ type: 'section', text: mrkdwn(`*Skipped — already invited (${summary.alreadyInvited.length.toLocaleString('en')}):* their link still works; resend it to email the same link again.`) });
    summary.alreadyInvited.slice(0, MAX_RESEND_BUTTONS).forEach((entry, i) => {
      blocks.push({
        type: 'section',
        text: mrkdwn(`• ${escape(clip(entry.email, 320))}`),
        accessory: {
          type: 'button',
          action_id: `${ACTIONS.resend}_${i}`,
          text: plain('Resend', LIMITS.buttonText),
          value: encodeRow({ surface: 'summary', invitationId: entry.invitationId, table: DEFAULT_TABLE }),
        },
      });
    });
    const rest = summary.alreadyInvited.slice(MAX_RESEND_BUTTONS);
    if (rest.length) {
      blocks.push({ type: 'context', elements: [mrkdwn(clip(`…and ${rest.length.toLocaleString('en')} more already invited (resend them from ${command} invites): ${rest.map((r) => escape(r.email)).join(', ')}`, share(LIMITS.text)))] });
    }
  }

  if (alreadyAwaiting.length) {
    const list = listWithin(alreadyAwaiting.map((e) => `• ${escape(e.email)}`), share(LIMITS.text - 150));
    blocks.push({ type: 'section', text: mrkdwn(`*Skipped — already waiting for approval (${alreadyAwaiting.length.toLocaleString('en')}):* asked for before; emailed once someone approves.\n${list}`) });
  }

  if (awaiting.length) {
    const list = listWithin(awaiting.map((e) => `• ${escape(e.email)} — ${e.reasons.map((r) => APPROVAL_REASON_WORDS[r]).join('; ')}`), share(LIMITS.text - 150));
    blocks.push({ type: 'section', text: mrkdwn(`:raised_hand: *Waiting for approval (${awaiting.length.toLocaleString('en')}):* not emailed until someone else approves.\n${list}`) });
  }

  if (overLimit.length) {
    const list = listWithin(overLimit.map((e) => `• ${escape(e)}`), share(LIMITS.text - 150));
    blocks.push({ type: 'section', text: mrkdwn(`:no_entry: *Not invited — over today's limit (${overLimit.length.toLocaleString('en')}):* try these again tomorrow.\n${list}`) });
  }

  if (summary.invalid.length) {
    const list = listWithin(summary.invalid.map((e) => `• ${entryWords(e.entry, 200)} — ${escape(e.reason)}`), share(LIMITS.text - 100));
    blocks.push({ type: 'section', text: mrkdwn(`*Not invited (${summary.invalid.length.toLocaleString('en')}):*\n${list}`) });
  }

  const skipped = summary.alreadyMember.length + summary.alreadyInvited.length + alreadyAwaiting.length;
  const held = awaiting.length ? ` waiting for approval ${awaiting.length};` : '';
  const over = overLimit.length ? ` over today's limit ${overLimit.length};` : '';
  const text = `Sent ${emailed};${held}${over} skipped ${skipped}; invalid ${summary.invalid.length}.`;
  return { text, blocks };
}

/** The first message of a big batch, replaced by the summary when the work is done. */
export function inviteWorking(addresses: number): { text: string; blocks: Block[] } {
  const text = `:hourglass_flowing_sand: Inviting ${count(addresses, 'address', 'addresses')}…`;
  return { text, blocks: [{ type: 'section', text: mrkdwn(text) } satisfies types.SectionBlock] };
}
