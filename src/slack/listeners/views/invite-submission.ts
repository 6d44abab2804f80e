import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, webApi } from '@slack/bolt';
import { MAX_LIST_CHARS, parseEmailList } from '../../../invites/email-list.js';
import type { InviteSummary } from '../../../invites/model.js';
import { isRole, type Role } from '../../../members/roles.js';
import { MODAL_BLOCKS, MODAL_INPUTS } from '../../action-values.js';
import { listWithin } from '../../blocks/format.js';
import { invitedView, inviteSendingView, refusedView } from '../../blocks/invite-modal.js';
import { ACK_DEADLINE_MS, before } from '../deadline.js';
import { inviteSummary, inviteWorking } from '../../blocks/invite-summary.js';
import { repeatClaims } from '../../dedupe.js';
import type { SlackDeps } from '../../deps.js';
import { slackWords, SOMETHING_WENT_WRONG } from '../../errors.js';
import type { SlackUser } from '../../identity.js';
import { decodeSlackText } from '../../text.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

const LATE = Symbol('late');

/** How often a batch's DM is brought up to date with its delivery, and for how long at most. */
export const PROGRESS_INTERVAL_MS = 2_000;
const PROGRESS_FOR_MS = 30 * 60_000;

/**
 * The invite modal's submission, answered from the database alone (Slack waits 3 seconds, and no
 * Web API call may stand in the way): bad entries are field errors and the modal stays open;
 * otherwise the typed addresses are invited — stored with their emails before the answer — and
 * the modal shows what was done. People picked from Slack are looked up and invited after the
 * answer, and the whole summary follows as a DM kept up to date as the mail goes out.
 */
export function inviteSubmission(deps: SlackDeps) {
  return async ({ ack, body, view, client }: SubmitArgs) => {
    const user = await deps.identities.identify(body.user.id, body.user.team_id ?? body.team?.id, { mayAskSlack: false });
    if (!user.allowed) return ack({ response_action: 'update', view: refusedView(user.refusal!) });

    // Read defensively: a signed payload is Slack's, but its shape is still checked before use.
    const values = (view.state?.values ?? {}) as Partial<typeof view.state.values>;
    const rawText: unknown = values[MODAL_BLOCKS.emails]?.[MODAL_INPUTS.emails]?.value;
    const text = typeof rawText === 'string' ? decodeSlackText(rawText).text : '';
    const rawPeople: unknown = values[MODAL_BLOCKS.users]?.[MODAL_INPUTS.users]?.selected_users;
    const people = Array.isArray(rawPeople) ? rawPeople.filter((id): id is string => typeof id === 'string' && /^[UW][A-Z0-9]{2,30}$/.test(id)) : [];
    const role: unknown = values[MODAL_BLOCKS.role]?.[MODAL_INPUTS.role]?.selected_option?.value ?? 'member';
    if (!isRole(role)) return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.role]: 'Choose Admin, Member or Developer.' } });
    if (text.length > MAX_LIST_CHARS) return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.emails]: 'That list is too long; split it into smaller batches.' } });
    const parsed = parseEmailList(text);
    if (parsed.invalid.length) {
      const named = listWithin(parsed.invalid.map((e) => `"${e.entry}" (${e.reason})`), 1500, '; ');
      return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.emails]: `Not email addresses: ${named}. Fix or remove them.` } });
    }
    if (parsed.emails.length === 0 && people.length === 0) {
      return ack({ response_action: 'errors', errors: { [MODAL_BLOCKS.emails]: 'Add at least one email address, or pick people below.' } });
    }
    const started = Date.now();
    const work = (async (): Promise<{ typed?: InviteSummary; words?: string } | undefined> => {
      if (!(await deps.dedupe.first(repeatClaims({ triggerId: body.trigger_id })))) return undefined;
      try {
        return { typed: parsed.emails.length ? await deps.invites.inviteMany({ emails: parsed.emails, role, actor: user.actor, inviterName: user.name ?? null }) : undefined };
      } catch (error) {
        const words = slackWords(error);
        if (!words) deps.logger.error({ err: error }, 'invite from the modal failed');
        return { words: words ?? SOMETHING_WENT_WRONG };
      }
    })();
    // Stored before the answer, unless the database is slow to take the write: then the answer
    // says the work goes on, and the summary comes as a DM once the list is stored.
    const stored = await before(work, ACK_DEADLINE_MS - (Date.now() - started), LATE);
    if (stored === undefined) return ack();
    if (stored !== LATE && stored.words) return ack({ response_action: 'update', view: refusedView(stored.words) });
    await ack({ response_action: 'update', view: stored === LATE ? inviteSendingView(parsed.emails.length + people.length) : invitedView(stored.typed, people.length, deps.command) });
    const done = stored === LATE ? await work : stored;
    if (!done || done.words) return;
    await inviteAndReport(deps, client, user, { typed: done.typed, people, role });
  };
}

/** After the answer: invites the people picked from Slack, then keeps a DM with the summary and the delivery up to date. */
async function inviteAndReport(deps: SlackDeps, client: webApi.WebClient, user: SlackUser, input: { typed: InviteSummary | undefined; people: string[]; role: Role }) {
  const addresses = (input.typed ? input.typed.sent.length + input.typed.renewed.length : 0) + input.people.length;
  const dm = await client.chat.postMessage({ channel: user.slackUserId, ...inviteWorking(addresses) });
  const update = (message: { text: string; blocks: unknown[] }) => client.chat.update({ channel: dm.channel!, ts: dm.ts!, ...message } as webApi.ChatUpdateArguments);
  let summary: InviteSummary = input.typed ?? { sent: [], renewed: [], alreadyMember: [], alreadyInvited: [], invalid: [], invitationIds: [] };
  if (input.people.length) {
    try {
      const picked = await deps.identities.emailsOf(input.people);
      const more = picked.emails.length ? await deps.invites.inviteMany({ emails: picked.emails, role: input.role, actor: user.actor, inviterName: user.name ?? null }) : undefined;
      summary = merge(summary, more);
      summary.invalid.push(...picked.missing.map((id) => ({ entry: `<@${id}>`, reason: 'no email address on their Slack profile' })));
    } catch (error) {
      const words = slackWords(error);
      if (!words) deps.logger.error({ err: error }, 'inviting the people picked in the modal failed');
      await update({ text: words ?? SOMETHING_WENT_WRONG, blocks: [] });
      return;
    }
  }
  let progress = { total: summary.invitationIds.length, sent: 0, failing: 0 };
  await update(inviteSummary(summary, deps.command, progress));
  if (progress.total === 0) return;
  // Keep the DM current as the mail worker delivers, until every email went out or it is time to stop.
  deps.background.run(
    async () => {
      const until = deps.clock.now() + PROGRESS_FOR_MS;
      while (progress.sent < progress.total && deps.clock.now() < until && (await deps.background.sleep(PROGRESS_INTERVAL_MS))) {
        const next = await deps.invites.deliveryProgress(summary.invitationIds);
        if (next.sent === progress.sent && next.failing === progress.failing) continue;
        progress = next;
        await update(inviteSummary(summary, deps.command, progress));
      }
    },
    (error) => deps.logger.warn({ err: error }, 'invite progress updates stopped'),
  );
}

function merge(a: InviteSummary, b: InviteSummary | undefined): InviteSummary {
  if (!b) return a;
  return {
    sent: [...a.sent, ...b.sent],
    renewed: [...a.renewed, ...b.renewed],
    alreadyMember: [...a.alreadyMember, ...b.alreadyMember],
    alreadyInvited: [...a.alreadyInvited, ...b.alreadyInvited],
    invalid: [...a.invalid, ...b.invalid],
    invitationIds: [...a.invitationIds, ...b.invitationIds],
  };
}
