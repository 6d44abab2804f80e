import { inviteModal } from '../blocks/invite-modal.js';
import type { SlackDeps } from '../deps.js';
import { FORM_DID_NOT_OPEN } from '../errors.js';
import { slackRefusal } from '../refusals.js';

/**
 * Opens the invite modal: `views.open` first, since a trigger works once and only for 3 seconds.
 * Who may invite is decided when the modal is submitted; meanwhile the asker's identity is looked
 * up, so the submission can be answered from the database alone. A form Slack did not open in
 * time is said, through `tell`, rather than left to the log.
 */
export async function openInviteModal(deps: SlackDeps, who: { triggerId: string; userId: string; teamId?: string }, tell: (text: string) => Promise<unknown>): Promise<void> {
  if ((await openWithTrigger(deps, who.triggerId, inviteModal(deps.inviteTtlMs), tell)) === undefined) return;
  await deps.identities.identify(who.userId, who.teamId);
}

/**
 * views.open with a trigger. Answers the opened view; null when the trigger was already spent (a
 * try whose answer was lost opened the form, most likely: nothing to say); undefined when Slack
 * did not open it, after telling the person through `tell`.
 */
export async function openWithTrigger(deps: SlackDeps, triggerId: string, view: Parameters<SlackDeps['triggers']['views']['open']>[0]['view'], tell: (text: string) => Promise<unknown>) {
  try {
    return (await deps.triggers.views.open({ trigger_id: triggerId, view })).view;
  } catch (error) {
    const refusal = slackRefusal(error);
    if (refusal === 'exchanged_trigger_id') {
      deps.logger.warn({ err: error }, 'views.open: the trigger was already used');
      return null;
    }
    // Slack late, limiting or down is the moment's; a view Slack refuses is a fault here.
    if (refusal && refusal !== 'expired_trigger_id') deps.logger.error({ err: error }, 'Slack refused a form');
    else deps.logger.warn({ err: error }, 'Slack did not open a form in time');
    await tell(FORM_DID_NOT_OPEN);
    return undefined;
  }
}
