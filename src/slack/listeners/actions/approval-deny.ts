import { decodeApproval } from '../../action-values.js';
import { denyModal } from '../../blocks/approvals.js';
import type { SlackDeps } from '../../deps.js';
import { staleButton } from '../../errors.js';
import { payloadTeam } from '../../identity.js';
import { openWithTrigger } from '../open-modal.js';
import { clickedValue, postToClicker, tellClicker, type ClickArgs } from './click.js';

/**
 * Deny (or Deny all) on an approval request: the reason modal opens first thing (a trigger id works once and for
 * 3 seconds); who may deny, and whether the request still waits, is checked when it is submitted.
 * Meanwhile the approver is looked up (and linked), so the submission can be answered from the
 * database alone.
 */
export function approvalDenyAction(deps: SlackDeps) {
  return async (args: ClickArgs) => {
    await args.ack();
    const target = decodeApproval(clickedValue(args));
    if (!target) return tellClicker(args, staleButton(deps.command));
    const opened = await openWithTrigger(deps, args.body.trigger_id, denyModal(target), (text) => postToClicker(args, { text }));
    if (opened === undefined) return;
    await deps.identities.identify(args.body.user.id, payloadTeam(args.body));
  };
}
