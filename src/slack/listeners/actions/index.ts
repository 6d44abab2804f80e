import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { ACTIONS, actionPattern, baseActionId } from '../../values.js';
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

/**
 * One Bolt listener for every button and select, which picks the handler by the action id's base
 * (`invite_resend_3` → `invite_resend`). Bolt runs each listener's own middleware chain for every
 * request, so a listener per action costs each request as much as the chains it does not match.
 */
export function register(app: App, deps: SlackDeps): void {
  const table = tableViewAction(deps);
  const handlers = new Map<string, (args: ClickArgs) => Promise<void>>([
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
  const ids = actionPattern(`(${[...handlers.keys()].join('|')})`);
  app.action({ type: 'block_actions', action_id: ids }, (async (args: ClickArgs) => {
    await handlers.get(baseActionId(args.action.action_id))!(args);
  }) as never);
}
