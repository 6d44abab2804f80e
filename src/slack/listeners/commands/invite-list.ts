import { inviteSummary } from '../../blocks/invite-summary.js';
import { repeatClaims } from '../../dedupe.js';
import type { SlackDeps } from '../../deps.js';
import { slackWords, SOMETHING_WENT_WRONG } from '../../errors.js';
import { PROFILE_UNAVAILABLE } from '../../identity.js';
import { decodeSlackText } from '../../text.js';
import { ephemeral, within } from './answer.js';
import type { CommandArgs } from './doorman.js';

/** How long the asker's and the mentioned people's profiles may take, counted from the request (Slack waits 3 s). */
export const IDENTITY_BUDGET_MS = 1_200;
export const MENTIONS_BUDGET_MS = 2_000;

/**
 * `invite <list>`: the invitations and their emails are stored before Slack gets its answer, and
 * the answer is the summary. Mentions (`<@U123>`) invite the person by the email on their Slack
 * profile; one whose profile cannot be read in time is named in the summary.
 */
export async function inviteList(deps: SlackDeps, { ack, command }: CommandArgs, rawList: string): Promise<void> {
  const started = Date.now();
  const user = await within(deps.identities.identify(command.user_id, command.team_id), IDENTITY_BUDGET_MS);
  if (!user) return ack(ephemeral(PROFILE_UNAVAILABLE));
  if (!user.allowed) return ack(ephemeral(user.refusal!));
  if (!(await deps.dedupe.first(repeatClaims({ triggerId: command.trigger_id })))) return ack();

  const { text, mentions } = decodeSlackText(rawList);
  const picked = mentions.length ? await within(deps.identities.emailsOf(mentions), MENTIONS_BUDGET_MS - (Date.now() - started)) : { emails: [], missing: [] };
  const missing = picked ? picked.missing.map((id) => ({ entry: `<@${id}>`, reason: 'no email address on their Slack profile' })) : mentions.map((id) => ({ entry: `<@${id}>`, reason: 'their Slack profile could not be read in time; invite them by email' }));
  try {
    const summary = await deps.invites.inviteMany({ emails: [text, ...(picked?.emails ?? [])].join('\n'), actor: user.actor, inviterName: user.name ?? null });
    summary.invalid.push(...missing);
    await ack({ response_type: 'ephemeral', ...inviteSummary(summary, deps.command) });
  } catch (error) {
    const words = slackWords(error);
    if (!words) deps.logger.error({ err: error }, 'invite from the command failed');
    await ack(ephemeral(`${words ?? SOMETHING_WENT_WRONG}\nUsage: \`${deps.command} invite jane@example.com, sam@example.com\`, or \`${deps.command} invite\` alone for the form.`));
  }
}
