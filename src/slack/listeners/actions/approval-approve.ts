import { decodeApproval } from '../../action-values.js';
import { approvalRequest } from '../../blocks/approvals.js';
import type { SlackDeps } from '../../deps.js';
import { NOT_APPROVER } from '../../identity.js';
import { failureWords, onClick, tellClicker, type ClickArgs } from './click.js';

/** Redraws the clicked request as it is now (the outbox updates every other copy). */
export async function redrawRequest(deps: SlackDeps, args: ClickArgs, invitationId: string): Promise<void> {
  const [invitation] = await deps.invites.getMany([invitationId]);
  if (invitation && args.body.response_url) await args.respond({ replace_original: true, ...approvalRequest(invitation) });
}

/**
 * Approve on an approval request: someone with invite:approve other than the requester approves,
 * and the invitation's email goes out. One decision wins; a later click is told who decided.
 */
export function approvalApproveAction(deps: SlackDeps) {
  return onClick(
    deps,
    decodeApproval,
    async (args, invitationId, user) => {
      if (!user.mayApprove) return tellClicker(args, user.refusal ?? NOT_APPROVER);
      try {
        await deps.invites.approve(invitationId, user.actor);
      } catch (error) {
        const words = await failureWords(deps, error, () => deps.invites.get(invitationId), args.action.action_id);
        await tellClicker(args, words);
      }
      await redrawRequest(deps, args, invitationId);
    },
    { changes: true },
  );
}
