import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { ACTIONS, actionPattern } from '../../values.js';
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

export function register(app: App, deps: SlackDeps): void {
  const on = (base: string, handler: (args: ClickArgs) => Promise<void>) =>
    app.action({ type: 'block_actions', action_id: actionPattern(base) }, handler as never);
  on(ACTIONS.resend, resendAction(deps));
  on(ACTIONS.copyLink, copyLinkAction(deps));
  on(ACTIONS.revoke, revokeAction(deps));
  on(ACTIONS.sendNew, sendNewAction(deps));
  const table = tableViewAction(deps);
  on(ACTIONS.tableFilter, table);
  on(ACTIONS.tableSort, table);
  on(ACTIONS.tablePage, table);
  on(ACTIONS.memberRole, memberRoleAction(deps));
  on(ACTIONS.memberDeactivate, memberDeactivateAction(deps));
  on(ACTIONS.membersPage, membersPageAction(deps));
  on(ACTIONS.openInviteModal, openInviteModalAction(deps));
  on(ACTIONS.noticeSendNewAll, noticeSendNewAllAction(deps));
  on(ACTIONS.noticeShowExpired, noticeShowListAction(deps));
}
