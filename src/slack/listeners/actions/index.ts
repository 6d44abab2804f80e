import type { SlackDeps } from '../../deps.js';
import { ACTIONS } from '../../values.js';
import { copyLinkAction } from './copy-link.js';
import { noticeSendNewAllAction } from './notice-send-new-all.js';
import { noticeShowListAction } from './notice-show-list.js';
import { memberDeactivateAction } from './member-deactivate.js';
import { memberRoleAction } from './member-role.js';
import { membersPageAction } from './members-page.js';
import { openInviteModalAction } from './open-invite-modal.js';
import { resendAction } from './resend.js';
import { revokeAction } from './revoke.js';
import { sendNewAction } from './send-new.js';
import { tableViewAction } from './table-view.js';
import type { ClickArgs } from './surfaces.js';

/** The buttons and selects, by the action id's base (`invite_resend_3` → `invite_resend`). */
export function actionRoutes(deps: SlackDeps): Map<string, (args: ClickArgs) => Promise<void>> {
  const table = tableViewAction(deps);
  return new Map<string, (args: ClickArgs) => Promise<void>>([
    [ACTIONS.resend, resendAction(deps)],
    [ACTIONS.copyLink, copyLinkAction(deps)],
    [ACTIONS.revoke, revokeAction(deps)],
    [ACTIONS.sendNew, sendNewAction(deps)],
    [ACTIONS.tableFilter, table],
    [ACTIONS.tableSort, table],
    [ACTIONS.tablePage, table],
    [ACTIONS.memberRole, memberRoleAction(deps)],
    [ACTIONS.memberDeactivate, memberDeactivateAction(deps)],
    [ACTIONS.membersPage, membersPageAction(deps)],
    [ACTIONS.openInviteModal, openInviteModalAction(deps)],
    [ACTIONS.noticeSendNewAll, noticeSendNewAllAction(deps)],
    [ACTIONS.noticeShowExpired, noticeShowListAction(deps)],
  ]);
}
