import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, webApi } from '@slack/bolt';
import { checkedChoices } from '../../../invites/choices.js';
import { MAX_LIST_CHARS } from '../../../invites/email-list.js';
import { isRole } from '../../../members/roles.js';
import { SLACK_USER_ID } from '../../../shared/actor.js';
import { DomainError, InvalidInput } from '../../../shared/errors.js';
import { MODAL_BLOCKS, MODAL_INPUTS } from '../../action-values.js';
import { draftForm, importingView, inviteSendingView, MAX_PICKED_PEOPLE, refusedView, reviewView } from '../../blocks/invite-modal.js';
import type { SlackDeps } from '../../deps.js';
import type { InviteDraft } from '../../drafts.js';
import { slackRefusal } from '../../refusals.js';
import { payloadTeam, PROFILE_UNAVAILABLE } from '../../identity.js';
import { LATE, receivedAt, withinAckDeadline } from '../deadline.js';
import { newId } from '../../../shared/ids.js';

const BUSY = 'Doorman is busy storing other changes. Submit again in a moment; nothing was sent.';
const NOT_CHECKED_YET = 'I could not check your Slack profile just now. Submit again in a moment; nothing was sent.';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * The invite form's submission: nothing is sent yet. It is answered from the database alone
 * (Slack waits 3 seconds, and no Web API call may stand in the way) with the review of the list;
 * the people picked from Slack are looked up after the answer and join the review when they are.
 */
export function inviteFormSubmission(deps: SlackDeps) {
  return async ({ ack, body, view, client, context }: SubmitArgs) => {
    const started = receivedAt(context);
    // The kept answer is enough here: the form changes nothing yet. The review's Send reads the
    // member again, and a file's import checks its inviter before each batch it stores.
    const identified = await withinAckDeadline(deps.identities.identify(body.user.id, payloadTeam(body), { mayAskSlack: false }), started);
    if (identified === LATE) return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.emails]: BUSY } });
    const user = identified;
    if (!user.allowed && user.refusal === PROFILE_UNAVAILABLE) {
      // Not a "no": who sent it could not be checked yet (the opening's lookup failed). The form stays
      // as typed, and the profile is read now, so the next submission finds it.
      await ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.emails]: NOT_CHECKED_YET } });
      await deps.identities.identify(body.user.id, payloadTeam(body)).catch((error: unknown) => deps.logger.warn({ err: error }, 'reading the profile of who submitted the form failed'));
      return;
    }
    if (!user.allowed) return ack({ response_action: 'update', view: refusedView(user.refusal!) });

    // Read defensively: a signed payload is Slack's, but its shape is still checked before use.
    const values = (view.state?.values ?? {}) as Partial<typeof view.state.values>;
    const rawText: unknown = values[MODAL_BLOCKS.emails]?.[MODAL_INPUTS.emails]?.value;
    // A text input's value arrives as typed, unlike command text: "Jane Doe <jane@x.io>" keeps its
    // brackets. NUL is in no address or name, and PostgreSQL refuses it in text.
    const typed = typeof rawText === 'string' ? rawText.replace(/\u0000/g, '') : '';
    const rawPeople: unknown = values[MODAL_BLOCKS.users]?.[MODAL_INPUTS.users]?.selected_users;
    const people = Array.isArray(rawPeople) ? rawPeople.filter((id): id is string => typeof id === 'string' && SLACK_USER_ID.test(id)) : [];
    const role: unknown = values[MODAL_BLOCKS.role]?.[MODAL_INPUTS.role]?.selected_option?.value ?? 'member';
    const rawExpiry: unknown = values[MODAL_BLOCKS.expiry]?.[MODAL_INPUTS.expiry]?.selected_option?.value ?? 'default';
    const rawMessage: unknown = values[MODAL_BLOCKS.message]?.[MODAL_INPUTS.message]?.value;
    const rawFiles: unknown = values[MODAL_BLOCKS.file]?.[MODAL_INPUTS.file]?.files;
    const file = Array.isArray(rawFiles) ? (rawFiles[0] as { name?: unknown; url_private_download?: unknown; url_private?: unknown } | undefined) : undefined;
    if (!isRole(role)) return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.role]: 'Choose Admin, Member or Developer.' } });
    // The picker stops at MAX_PICKED_PEOPLE; more can only come from an older form: said, never cut silently.
    if (people.length > MAX_PICKED_PEOPLE) return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.users]: `Pick at most ${MAX_PICKED_PEOPLE} people at a time; paste the others' addresses above or send them in another batch.` } });
    if (typed.length > MAX_LIST_CHARS) return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.emails]: 'That list is too long; split it into smaller batches.' } });
    if (!typed.trim() && people.length === 0 && !file) return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.emails]: 'Add at least one email address, pick people below, or attach a file.' } });
    const expiresInDays = rawExpiry === 'default' ? null : Number(rawExpiry);
    let message: string | null;
    try {
      message = checkedChoices({ expiresInDays, message: typeof rawMessage === 'string' ? rawMessage : null }).message;
    } catch (error) {
      if (!(error instanceof InvalidInput)) throw error;
      return ack({ response_action: 'errors', errors: { [error.field === 'message' ? MODAL_BLOCKS.message : MODAL_BLOCKS.expiry]: error.message } });
    }
    if (file) {
      const name = typeof file.name === 'string' ? file.name : 'the file';
      const url = typeof file.url_private_download === 'string' ? file.url_private_download : file.url_private;
      if (typed.trim() || people.length) return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.file]: 'Attach a file or type addresses and pick people, not both.' } });
      if (!/\.(csv|txt)$/i.test(name) || typeof url !== 'string') return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.file]: 'Attach a .csv or .txt file.' } });
      // Stored before the answer, so a restart right after it does not lose the import. A database
      // slow past Slack's window does not lose it either: the form says it is being read, and the
      // import starts once stored (or the DM says it could not be).
      const storing = deps.listImports.store(user, { name, url }, { role, expiresInDays, message });
      const stored = await withinAckDeadline(storing.catch((error: unknown) => error as Error), started);
      if (stored instanceof Error) throw stored;
      await ack({ response_action: 'update', view: importingView(name) });
      deps.background.run(
        async () => {
          const run = stored === LATE ? await storing.catch(async (error: unknown) => void (await deps.listImports.notStored(user, name, error))) : stored;
          if (run) await deps.listImports.run(run);
        },
        (error) => deps.logger.error({ err: error, file: name }, 'a list file import stopped; it is taken over once its lease runs out'),
      );
      return;
    }
    const saving = (async () => {
      const draft: InviteDraft = { typed, people, role, expiresInDays, message, review: await deps.invites.review(typed), peoplePending: people.length > 0, approvalRequestId: newId('request') };
      return { draft, draftId: await deps.drafts.save(user.slackUserId, draft) };
    })();
    // A database slow to take the draft (a long write elsewhere) must not cost Slack's deadline:
    // the form stays open, asking to submit again; nothing was sent.
    const saved = await withinAckDeadline(saving, started);
    if (saved === LATE) {
      saving.catch((error: unknown) => deps.logger.warn({ err: error }, 'a late invite draft failed'));
      return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.emails]: BUSY } });
    }
    const { draft, draftId } = saved;
    await ack({ response_action: 'update', view: reviewView(draftId, draft, deps.invites.policy) });
    if (!people.length) return;
    await addPeople(deps, client, body.view.id, draftId, draft).catch(async (error: unknown) => {
      deps.logger.error({ err: error }, 'looking up the people picked in the invite form failed');
      await peopleNotLookedUp(deps, client, body.view.id, draftId, user.slackUserId).catch(() => undefined);
    });
  };
}

/**
 * After the lookup of the people picked failed: the review says so instead of "Looking up…" for good,
 * read again from the draft as stored (the failed lookup may have changed the one in hand).
 */
async function peopleNotLookedUp(deps: SlackDeps, client: webApi.WebClient, viewId: string, draftId: string, slackUserId: string): Promise<void> {
  const draft = await deps.drafts.load(draftId, slackUserId);
  if (!draft?.peoplePending) return;
  draft.peoplePending = false;
  draft.review.invalid.push(...draft.people.map((id) => ({ entry: `<@${id}>`, reason: 'could not be looked up just now; go Back and pick them again' })));
  if (await deps.drafts.update(draftId, draft)) await client.views.update({ view_id: viewId, view: reviewView(draftId, draft, deps.invites.policy) });
}

/** After the answer: the picked people's addresses join the review, which is drawn again. */
async function addPeople(deps: SlackDeps, client: webApi.WebClient, viewId: string, draftId: string, draft: InviteDraft): Promise<void> {
  const picked = await deps.identities.emailsOf(draft.people);
  try {
    draft.review = await deps.invites.review([draft.typed, ...picked.emails].join('\n'));
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
  }
  draft.review.invalid.push(...picked.unusable);
  draft.peoplePending = false;
  // Ended meanwhile: the modal shows the form again or what was sent (the send looked the people up itself).
  if (!(await deps.drafts.update(draftId, draft))) return;
  const drawn = await client.views.update({ view_id: viewId, view: reviewView(draftId, draft, deps.invites.policy) }).catch((error: unknown) => {
    // Closed meanwhile: nothing to draw on.
    if (slackRefusal(error) !== 'not_found') throw error;
  });
  // Ended between the update and the redraw, whose request may have reached Slack after the ending's:
  // what the ending drew is drawn again, unless Slack has drawn something since this redraw (its hash).
  const ended = drawn?.view?.hash ? await deps.drafts.endedAs(draftId) : undefined;
  if (!ended) return;
  const view =
    ended.how === 'back'
      ? draftForm(deps.inviteTtlMs, draft)
      : ended.how === 'sent'
        ? inviteSendingView()
        : // A send that failed before its words were kept (an older draft): said without them.
          refusedView(ended.refusal ?? `:warning: Something went wrong while sending this list, and some invitations may have gone out. See \`${deps.command} invites\` before you send it again.`);
  await client.views.update({ view_id: viewId, hash: drawn!.view!.hash, view }).catch((error: unknown) => {
    const refused = slackRefusal(error);
    if (refused !== 'hash_conflict' && refused !== 'not_found') throw error;
  });
}
