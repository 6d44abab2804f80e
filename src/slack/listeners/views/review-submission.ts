import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, webApi } from '@slack/bolt';
import { emptySummary, mergeSummaries, storedAnything, type InviteSummary } from '../../../invites/model.js';
import { normalizeEmail } from '../../../invites/email-list.js';
import { AlreadyMember, AwaitingApproval, DomainError, InvitationAccepted, InvitationExpired, InvitationRevoked } from '../../../shared/errors.js';
import { REVIEW_BLOCKS, REVIEW_INPUTS } from '../../action-values.js';
import { invitedView, inviteSendingView, refusedView, reviewOutOfDateView } from '../../blocks/invite-modal.js';
import { LATE, receivedAt, withinAckDeadline } from '../deadline.js';
import { inviteWorking } from '../../blocks/invite-summary.js';
import { followDelivery } from '../../delivery-progress.js';
import { repeatClaims } from '../../dedupe.js';
import type { SlackDeps } from '../../deps.js';
import type { InviteDraft } from '../../drafts.js';
import { failureText, partlySentText, SOMETHING_WENT_WRONG } from '../../errors.js';
import { payloadTeam, type SlackUser } from '../../identity.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * "Send" on the review: exactly what the review showed goes out — the New and Will renew groups,
 * and a resend to the already invited when the box was ticked — stored with their emails before
 * Slack gets its answer, and answered from the database alone. People picked from Slack whose
 * lookup had not finished are looked up and invited after the answer; the whole summary follows
 * as a DM, kept up to date as the mail goes out.
 */
export function reviewSubmission(deps: SlackDeps) {
  return async ({ ack, body, view, client, context }: SubmitArgs) => {
    const started = receivedAt(context);
    // Everything before the answer, the reads too: with SQLite's one connection a read waits
    // behind a write that waits for another process's lock.
    const work = (async (): Promise<Outcome | undefined> => {
      try {
        const user = await deps.identities.identify(body.user.id, payloadTeam(body), { mayAskSlack: false, changes: true });
        if (!user.allowed) return { view: refusedView(user.refusal!) };
        const draftId = view.private_metadata;
        const draft = await deps.drafts.load(draftId, user.slackUserId);
        if (!draft) return { view: reviewOutOfDateView() };
        const ticked: unknown = view.state?.values?.[REVIEW_BLOCKS.resend]?.[REVIEW_INPUTS.resend]?.selected_options;
        const resendInvited = Array.isArray(ticked) && ticked.some((o) => o?.value === 'resend');
        if (!(await deps.dedupe.first(repeatClaims({ triggerId: body.trigger_id })))) return undefined;
        // Ended before sending, so a lookup of picked people finishing now no longer redraws the
        // review; of two submissions at once (two trigger ids, so not a retry) only the one that
        // ended it sends.
        if (!(await deps.drafts.end(draftId, 'sent'))) return { view: reviewOutOfDateView() };
        const progress = { stored: false };
        try {
          return { user, draft, summary: await send(deps, user, draft, resendInvited, progress) };
        } catch (error) {
          const what = 'sending from the invite review failed';
          const text = progress.stored ? partlySentText(error, deps.logger, what, deps.command) : failureText(error, deps.logger, what);
          // Kept with the draft: a lookup's redraw crossing this answer draws the same words again.
          await deps.drafts.failed(draftId, draft, text).catch(() => undefined);
          return { view: refusedView(text) };
        }
      } catch (error) {
        return { view: refusedView(failureText(error, deps.logger, 'sending from the invite review failed')) };
      }
    })();
    // Stored before the answer, unless the database is slow: then the answer says the work goes
    // on, and the summary comes as a DM once the list is stored.
    const stored = await withinAckDeadline(work, started);
    if (stored === undefined) return ack();
    if (stored === LATE) {
      await ack({ response_action: 'update', view: inviteSendingView() });
      const done = await work;
      if (done && 'summary' in done) await report(deps, client, done.user, done.draft, done.summary);
      else if (done) await client.chat.postMessage({ channel: body.user.id, text: textOfView(done.view) });
      return;
    }
    if ('view' in stored) return ack({ response_action: 'update', view: stored.view });
    const { user, draft, summary } = stored;
    await ack({ response_action: 'update', view: invitedView(summary, draft.peoplePending ? draft.people.length : 0, deps.command) });
    await report(deps, client, user, draft, summary);
  };
}

type Outcome = { view: ReturnType<typeof refusedView> } | { user: SlackUser; draft: InviteDraft; summary: InviteSummary };


/** A one-section view's words, for a DM when the modal was already answered. */
function textOfView(view: ReturnType<typeof refusedView>): string {
  const section = view.blocks?.find((b) => b.type === 'section') as { text?: { text?: string } } | undefined;
  return section?.text?.text ?? SOMETHING_WENT_WRONG;
}

/** The review's groups, sent as they were shown. */
/** `progress.stored`: set once part of the list is stored, so a failure after it is not told "nothing was changed". */
async function send(deps: SlackDeps, user: SlackUser, draft: InviteDraft, resendInvited: boolean, progress: { stored: boolean }): Promise<InviteSummary> {
  const emails = [...draft.review.fresh, ...draft.review.renew];
  const choices = { role: draft.role, expiresInDays: draft.expiresInDays, message: draft.message, approvalRequestId: draft.approvalRequestId };
  const summary: InviteSummary = emails.length
    ? await deps.invites.inviteMany({ emails, ...choices, actor: user.actor, inviterName: user.name ?? null })
    : emptySummary();
  progress.stored ||= storedAnything(summary);
  summary.alreadyMember.push(...draft.review.alreadyMember);
  // Drafts saved before this group existed lack it.
  const waiting = draft.review.alreadyAwaiting ?? [];
  if (waiting.length) summary.alreadyAwaiting = [...waiting, ...(summary.alreadyAwaiting ?? [])];
  summary.invalid.push(...draft.review.invalid);
  const invited = [...draft.review.alreadyInvited, ...summary.alreadyInvited.filter((e) => !draft.review.alreadyInvited.some((r) => r.email === e.email))];
  summary.alreadyInvited = [];
  summary.resent = [];
  const expiredSince: string[] = [];
  for (const entry of invited) {
    if (!resendInvited) {
      summary.alreadyInvited.push(entry);
      continue;
    }
    try {
      await deps.invites.resend(entry.invitationId, user.actor);
      progress.stored = true;
      summary.resent.push(entry.email);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // Changed since the review (a draft is kept a day): said as it is now. One expired meanwhile
      // gets the new invitation it would have got had it expired before the review (below).
      if (error instanceof InvitationExpired) expiredSince.push(entry.email);
      else if (error instanceof InvitationAccepted || error instanceof AlreadyMember) summary.alreadyMember.push(entry.email);
      else if (error instanceof AwaitingApproval) (summary.alreadyAwaiting ??= []).push(entry);
      else if (error instanceof InvitationRevoked) summary.invalid.push({ entry: entry.email, reason: 'its invitation was revoked since the review' });
      else summary.alreadyInvited.push(entry);
    }
  }
  if (!expiredSince.length) return summary;
  // Invited as the list is, with the review's choices: renewed with a new link, or held, or skipped.
  return merge(summary, await deps.invites.inviteMany({ emails: expiredSince, ...choices, actor: user.actor, inviterName: user.name ?? null }));
}

/** After the answer: people still to look up are invited, then a DM with the summary follows the delivery. */
async function report(deps: SlackDeps, client: webApi.WebClient, user: SlackUser, draft: InviteDraft, typed: InviteSummary): Promise<void> {
  let summary = typed;
  // The people still to look up are invited before the DM is posted: Slack refusing the DM (or
  // failing it) must not leave them uninvited, with nothing anywhere to say so.
  if (draft.peoplePending) {
    try {
      const picked = await deps.identities.emailsOf(draft.people);
      // Someone both typed and picked was handled with the typed list: not counted again.
      const { review } = draft;
      const typed = new Set([...review.fresh, ...review.renew, ...review.alreadyMember, ...[...review.alreadyInvited, ...(review.alreadyAwaiting ?? [])].map((e) => e.email)]);
      const emails = picked.emails.filter((email) => {
        const normal = normalizeEmail(email);
        return !typed.has('email' in normal ? normal.email : email);
      });
      const more = emails.length ? await deps.invites.inviteMany({ emails, role: draft.role, expiresInDays: draft.expiresInDays, message: draft.message, approvalRequestId: draft.approvalRequestId, actor: user.actor, inviterName: user.name ?? null, recheckInviter: true }) : undefined;
      summary = merge(summary, more);
      summary.invalid.push(...picked.unusable);
    } catch (error) {
      const what = 'inviting the people picked in the form failed';
      const text = storedAnything(typed) ? partlySentText(error, deps.logger, what, deps.command) : failureText(error, deps.logger, what);
      return void (await client.chat.postMessage({ channel: user.slackUserId, text }));
    }
  }
  const dm = await client.chat.postMessage({ channel: user.slackUserId, ...inviteWorking(summary.sent.length + summary.renewed.length) });
  const update = (message: { text: string; blocks: unknown[] }) => client.chat.update({ channel: dm.channel!, ts: dm.ts!, ...message } as webApi.ChatUpdateArguments);
  await followDelivery(deps, update, summary);
}

function merge(a: InviteSummary, b: InviteSummary | undefined): InviteSummary {
  return b ? { ...mergeSummaries(a, b), resent: a.resent } : a;
}
