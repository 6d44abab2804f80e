import { inviteModal } from '../blocks/invite-modal.js';
import type { SlackDeps } from '../deps.js';
import { FORM_DID_NOT_OPEN } from '../errors.js';

/**
 * Opens the invite modal: `views.open` first, since a trigger works once and only for 3 seconds.
 * Who may invite is decided when the modal is submitted; meanwhile the asker's identity is looked
 * up, so the submission can be answered from the database alone. A form Slack did not open in
 * time is said, through `tell`, rather than left to the log.
 */
export async function openInviteModal(deps: SlackDeps, who: { triggerId: string; userId: string; teamId?: string }, tell: (text: string) => Promise<unknown>): Promise<void> {
  if (!(await openWithTrigger(deps, who.triggerId, inviteModal(deps.inviteTtlMs)))) return void (await tell(FORM_DID_NOT_OPEN));
  await deps.identities.identify(who.userId, who.teamId);
}

/** views.open with a trigger, once; answers the opened view, or undefined (logged) when Slack did not open it. */
export async function openWithTrigger(deps: SlackDeps, triggerId: string, view: Parameters<SlackDeps['triggers']['views']['open']>[0]['view']) {
  try {
    return (await deps.triggers.views.open({ trigger_id: triggerId, view })).view;
  } catch (error) {
    deps.logger.warn({ err: error }, 'Slack did not open a form in time');
    return undefined;
  }
}
