import { decodeApproval, type ApprovalTarget } from '../../action-values.js';
import { approvalRequest } from '../../blocks/approvals.js';
import { count } from '../../blocks/format.js';
import type { Invitation } from '../../../invites/model.js';
import type { SlackDeps } from '../../deps.js';
import { NOT_APPROVER } from '../../identity.js';
import { escape } from '../../text.js';
import { failureWords, onClick, tellClicker, type ClickArgs } from './click.js';

/** Redraws the clicked request as it is now (the outbox updates every other copy). */
async function redrawRequest(deps: SlackDeps, args: ClickArgs, target: ApprovalTarget): Promise<void> {
  if (!args.body.response_url) return;
  const invitations = await requestOf(deps, target);
  if (invitations.length) await args.respond({ replace_original: true, ...approvalRequest(invitations) });
}

/** The invitations the clicked message shows: the request the invitation (or the request id) names; none once gone. */
async function requestOf(deps: SlackDeps, target: ApprovalTarget): Promise<Invitation[]> {
  const [invitation] = target.kind === 'invitation' ? await deps.invites.getMany([target.id]) : [];
  const requestId = target.kind === 'request' ? target.id : invitation?.approval?.requestId;
  return requestId ? deps.invites.approvalRequest(requestId) : [];
}

/**
 * Approve (or Approve all) on an approval request: someone with invite:approve other than the
 * requester approves, and the emails go out. One decision wins; a later click is told who decided.
 */
export function approvalApproveAction(deps: SlackDeps) {
  return onClick(
    deps,
    decodeApproval,
    async (args, target, user) => {
      if (!user.mayApprove) return tellClicker(args, user.refusal ?? NOT_APPROVER);
      try {
        if (target.kind === 'invitation') await deps.invites.approve(target.id, user.actor, target.heldUpTo);
        else {
          const { members } = await deps.invites.approveRequest(target.id, user.actor, target.heldUpTo);
          // Their links could only fail: left waiting, for a Deny or the lapse.
          if (members.length) await tellClicker(args, `Not approved, already ${count(members.length, 'member')}: ${members.map((email) => escape(email)).join(', ')}. They stay waiting until someone denies them or the request lapses.`.slice(0, 3_000));
        }
      } catch (error) {
        // Named by the invitation the refusal is about (of a request: the one decided last).
        const about = error instanceof Object && 'invitationId' in error && typeof error.invitationId === 'string' ? error.invitationId : target.id;
        await tellClicker(args, await failureWords(deps, error, () => deps.invites.get(about), args.action.action_id));
      }
      // A decision queues the redraw of every copy of the request, so one failing here is only late.
      await redrawRequest(deps, args, target).catch((error: unknown) => deps.logger.warn({ err: error }, 'an approval request could not be redrawn at once after a click; its queued redraw follows'));
    },
    { changes: true, notPermitted: NOT_APPROVER },
  );
}
