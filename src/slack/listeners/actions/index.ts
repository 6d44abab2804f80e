import type { App, BlockAction } from '@slack/bolt';
import { ACTIONS, actionIdPattern } from '../../action-values.js';
import type { SlackDeps } from '../../deps.js';
import { copyLinkAction } from './copy-link.js';
import { importCancelAction, importSendAction } from './import-review.js';
import { approvalApproveAction } from './approval-approve.js';
import { approvalDenyAction } from './approval-deny.js';
import { memberDeactivateAction } from './member-deactivate.js';
import { memberRoleAction } from './member-role.js';
import { membersPageAction } from './members-page.js';
import { noticeDismissAction } from './notice-dismiss.js';
import { noticeRenewAllAction } from './notice-renew-all.js';
import { noticeShowListAction } from './notice-show-list.js';
import { openInviteModalAction } from './open-invite-modal.js';
import { resendAction } from './resend.js';
import { reviewBackAction } from './review-back.js';
import { revokeAction } from './revoke.js';
import { renewAction } from './renew.js';
import { showInvitationsAction, showMembersAction } from './show.js';
import { tableViewAction } from './table-view.js';

/** The buttons and selects. Ids carrying a position suffix (`invite_resend_3`) match by pattern. */
export function register(app: App, deps: SlackDeps): void {
  const on = (base: string, handler: Parameters<typeof app.action<BlockAction>>[1]) => app.action<BlockAction>({ type: 'block_actions', action_id: actionIdPattern(base) }, handler);
  on(ACTIONS.resend, resendAction(deps));
  on(ACTIONS.copyLink, copyLinkAction(deps));
  on(ACTIONS.revoke, revokeAction(deps));
  on(ACTIONS.renew, renewAction(deps));
  const table = tableViewAction(deps);
  on(ACTIONS.tableFilter, table);
  on(ACTIONS.tableSort, table);
  on(ACTIONS.tablePage, table);
  on(ACTIONS.memberRole, memberRoleAction(deps));
  on(ACTIONS.memberDeactivate, memberDeactivateAction(deps));
  on(ACTIONS.membersPage, membersPageAction(deps));
  on(ACTIONS.openInviteModal, openInviteModalAction(deps));
  on(ACTIONS.showInvitations, showInvitationsAction(deps));
  on(ACTIONS.showMembers, showMembersAction(deps));
  on(ACTIONS.noticeRenewAll, noticeRenewAllAction(deps));
  on(ACTIONS.noticeShowList, noticeShowListAction(deps));
  on(ACTIONS.reviewBack, reviewBackAction(deps));
  on(ACTIONS.noticeDismiss, noticeDismissAction(deps));
  on(ACTIONS.approve, approvalApproveAction(deps));
  on(ACTIONS.deny, approvalDenyAction(deps));
  on(ACTIONS.importSend, importSendAction(deps));
  on(ACTIONS.importCancel, importCancelAction(deps));
}
