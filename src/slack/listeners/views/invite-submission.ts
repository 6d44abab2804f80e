import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, webApi } from '@slack/bolt';
import { MAX_LIST_CHARS, parseEmailList } from '../../../invites/email-list.js';
import type { InviteSummary } from '../../../invites/model.js';
import { isRole } from '../../../members/roles.js';
import { inviteSendingView, refusedView } from '../../blocks/invite-modal.js';
import { inviteSummary, inviteWorking, type DeliveryProgress } from '../../blocks/invite-summary.js';
import { listWithin } from '../../blocks/format.js';
import type { SlackDeps } from '../../deps.js';
import { slackWords, SOMETHING_WENT_WRONG } from '../../errors.js';
import { permitted } from '../../guard.js';
import type { SlackUser } from '../../permissions.js';
import { MODAL_BLOCKS, MODAL_INPUTS } from '../../values.js';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** How often a big batch's DM is brought up to date, and for how long at most. */
export const PROGRESS_INTERVAL_MS = 2_000;
const PROGRESS_FOR_MS = 30 * 60_000;

/**
 * The invite modal's submission. Slack wants the answer within 3 seconds, whatever the list's
 * size: bad entries are answered at once as field errors (the modal stays open); otherwise the
 * modal turns to "inviting…", and the work and its summary (a DM, kept up to date as mail goes
 * out) follow after the answer.
 */
export function inviteSubmission(deps: SlackDeps) {
  return async ({ ack, body, view, client }: SubmitArgs) => {
    const user = await permitted(deps, client, body.user.id, (text) => ack({ response_action: 'update', view: refusedView(text) }));
    if (!user) return;

    // Read defensively: a signed payload is Slack's, but its shape is still checked before use.
    const values = (view.state?.values ?? {}) as Partial<typeof view.state.values>;
    const rawText: unknown = values[MODAL_BLOCKS.emails]?.[MODAL_INPUTS.emails]?.value;
    const text = typeof rawText === 'string' ? rawText : '';
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
    await ack({ response_action: 'update', view: inviteSendingView(parsed.emails.length + people.length) });
    await inviteAndReport(deps, client, user, { emails: parsed.emails, people, role });
  };
}

async function inviteAndReport(deps: SlackDeps, client: webApi.WebClient, user: SlackUser, input: { emails: string[]; people: string[]; role: 'admin' | 'member' | 'developer' }) {
  const dm = await client.chat.postMessage({ channel: user.slackUserId, ...inviteWorking(input.emails.length + input.people.length) });
  const update = (message: { text: string; blocks: unknown[] }) => client.chat.update({ channel: dm.channel!, ts: dm.ts!, ...message } as webApi.ChatUpdateArguments);
  let summary: InviteSummary;
  try {
    const picked = await deps.permissions.emailsOf(client, input.people);
    summary = await deps.invites.inviteMany({ emails: [...input.emails, ...picked.emails], role: input.role, actor: user.actor, inviterName: user.name ?? null });
    summary.invalid.push(...picked.missing.map((id) => ({ entry: `<@${id}>`, reason: 'no email address on their Slack profile' })));
  } catch (error) {
    const words = slackWords(error);
    if (!words) deps.logger.error({ err: error }, 'invite from the modal failed');
    await update({ text: words ?? SOMETHING_WENT_WRONG, blocks: [] });
    return;
  }
  let progress: DeliveryProgress = { total: summary.invitationIds.length, sent: 0, failing: 0 };
  await update(inviteSummary(summary, progress));
  if (progress.total === 0) return;
  // Keep the DM current as the mail worker delivers, until every email went out or it is time to stop.
  deps.background.run(
    async () => {
      const until = deps.clock.now() + PROGRESS_FOR_MS;
      while (progress.sent < progress.total && deps.clock.now() < until && (await deps.background.sleep(PROGRESS_INTERVAL_MS))) {
        const next = await deps.invites.deliveryProgress(summary.invitationIds);
        if (next.sent === progress.sent && next.failing === progress.failing) continue;
        progress = next;
        await update(inviteSummary(summary, progress));
      }
    },
    (error) => deps.logger.warn({ err: error }, 'invite progress updates stopped'),
  );
}
