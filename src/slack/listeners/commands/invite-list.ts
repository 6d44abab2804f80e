import type { RespondArguments } from '@slack/bolt';
import { inviteSummary } from '../../blocks/invite-summary.js';
import { repeatClaims } from '../../dedupe.js';
import type { SlackDeps } from '../../deps.js';
import { emptySummary } from '../../../invites/model.js';
import { failureText } from '../../errors.js';
import { PROFILE_UNAVAILABLE } from '../../identity.js';
import { decodeSlackText } from '../../text.js';
import { before, LATE, receivedAt, withinAckDeadline } from '../deadline.js';
import { ephemeral } from './answer.js';
import type { CommandArgs } from './doorman.js';

/** How long the asker's and the mentioned people's profiles may take, counted from the request. */
export const IDENTITY_BUDGET_MS = 1_200;
export const MENTIONS_BUDGET_MS = 1_000;

/**
 * `invite <list>`: the invitations and their emails are stored before Slack gets its answer, and
 * the answer is the summary. When the database is slow to take the write (another process holds
 * it), the request is acknowledged by the deadline with "still working" and the summary follows
 * on the response_url once the list is stored. Mentions (`<@U123>`) invite the person by the email
 * on their Slack profile; one whose profile cannot be read in time is named in the summary.
 */
export async function inviteList(deps: SlackDeps, { ack, command, respond, context }: CommandArgs, rawList: string): Promise<void> {
  const started = receivedAt(context);
  const work = answerFor(deps, command, rawList, started);
  const answer = await withinAckDeadline(work, started);
  if (answer !== LATE) return ack(answer);
  await ack(ephemeral(':hourglass_flowing_sand: Still storing your list; the summary follows here in a moment.'));
  const late = await work;
  if (late) await respond(late);
}

/** The answer to the command: the summary of what was stored, or why nothing was (undefined: a repeat, answered empty). */
async function answerFor(deps: SlackDeps, command: CommandArgs['command'], rawList: string, started: number): Promise<RespondArguments | undefined> {
  try {
    const user = await before(deps.identities.identify(command.user_id, command.team_id, { changes: true }), IDENTITY_BUDGET_MS - (Date.now() - started), undefined);
    if (!user) return ephemeral(PROFILE_UNAVAILABLE);
    if (!user.allowed) return ephemeral(user.refusal!);
    if (!(await deps.dedupe.first(repeatClaims({ triggerId: command.trigger_id })))) return undefined;

    const { text, mentions } = decodeSlackText(rawList);
    const picked = mentions.length ? await before(deps.identities.emailsOf(mentions, { patient: false }), MENTIONS_BUDGET_MS - (Date.now() - started), undefined) : { emails: [], unusable: [] };
    const missing = picked ? picked.unusable : mentions.map((id) => ({ entry: `<@${id}>`, reason: 'their Slack profile could not be read in time; invite them by email' }));
    const emails = [text, ...(picked?.emails ?? [])].join('\n');
    // Only mentions, none with a usable address: the summary names each, rather than "no addresses given".
    const summary = !emails.trim() && missing.length ? emptySummary() : await deps.invites.inviteMany({ emails, actor: user.actor, inviterName: user.name ?? null });
    summary.invalid.push(...missing);
    return { response_type: 'ephemeral', ...inviteSummary(summary, deps.command) };
  } catch (error) {
    return ephemeral(`${failureText(error, deps.logger, 'invite from the command failed')}\nUsage: \`${deps.command} invite jane@example.com, sam@example.com\`, or \`${deps.command} invite\` alone for the form.`);
  }
}
