import { Option, type Command } from 'commander';
import type { Services } from '../app.js';
import { MAX_PAGE } from '../invites/list.js';
import { APPROVAL_REQUEST_ID } from '../invites/approvals.js';
import type { RequestDecision } from '../invites/decisions.js';
import type { Invitation } from '../invites/model.js';
import { approvalWords } from '../invites/policy.js';
import { can, memberActor } from '../members/service.js';
import type { Actor } from '../shared/actor.js';
import { InvalidInput, NotPermitted } from '../shared/errors.js';
import { jsonOption, wholeNumber, type CommandDeps } from './command.js';
import { formatDate, jsonText } from './format.js';

/**
 * `doorman approvals`, `approve`, `deny`: the rule "Policy" from the terminal. The operator acts as
 * the system, not as a requester, so it may decide any request. With `--as <member email>` the
 * decision is that member's: they need `invite:approve`, and the two-person rule applies to them.
 */

function heldLine(i: Invitation): string {
  const by = i.invitedBy.name ?? i.invitedBy.slackUserId ?? i.invitedBy.memberId ?? 'someone';
  const why = approvalWords(i);
  const request = i.approval && i.approval.requestId !== i.id ? `\n    request: ${i.approval.requestId}` : '';
  return `${i.id}  ${i.email}  ${i.role}  asked by ${by} ${formatDate(i.updatedAt)}  lapses ${formatDate(i.expiresAt)}\n    why: ${why}${request}`;
}

/** What deciding a whole request did, in words. */
function decidedWords(id: string, decision: RequestDecision, done: string, then: string): string {
  const emails = decision.decided.map((i) => i.email);
  const named = emails.length > 10 ? `${emails.slice(0, 10).join(', ')} and ${emails.length - 10} more` : emails.join(', ');
  const lines = [emails.length ? `${done} ${emails.length} invitation(s) of ${id}: ${named}. ${then}` : `Nothing of ${id} was ${done.toLowerCase()}.`];
  if (decision.members.length) lines.push(`Left waiting, already members: ${decision.members.join(', ')} (deny them, or let the request lapse).`);
  return lines.join('\n');
}

/** The member named by `--as`, as an actor who may approve; the operator otherwise. */
async function deciderFor(services: Services, as: string | undefined, operator: Actor): Promise<Actor> {
  if (as === undefined) return operator;
  const member = await services.members.getByEmail(as);
  if (member.state !== 'active') throw new InvalidInput(`--as ${as}: this member is deactivated; only an active member may decide.`);
  if (!can(member, 'invite:approve')) throw new NotPermitted('invite:approve');
  return memberActor(member);
}

export function registerApprovalCommands(program: Command, deps: CommandDeps): void {
  const asOption = () => new Option('--as <email>', 'decide as this member (needs invite:approve; they cannot decide their own request)');

  program
    .command('approvals')
    .description('list invitations waiting for approval (outside INVITE_ALLOWED_DOMAINS, or for the admin role)')
    .option('--limit <n>', `invitations per page (1–${MAX_PAGE})`, (v) => wholeNumber(v, 1, MAX_PAGE), MAX_PAGE)
    .option('--cursor <cursor>', 'continue from a previous page')
    .addOption(jsonOption())
    .action(async (opts: { limit: number; cursor?: string; json?: boolean }) => {
      const { invites } = await deps.open();
      const page = await invites.list({ status: 'awaiting_approval', sort: 'created', order: 'asc', limit: opts.limit, cursor: opts.cursor });
      if (opts.json) return deps.print(jsonText(page));
      if (page.invitations.length === 0) return deps.print('No invitations are waiting for approval.');
      const more = page.nextCursor ? [`More: doorman approvals${opts.limit !== MAX_PAGE ? ` --limit ${opts.limit}` : ''} --cursor ${page.nextCursor}`] : [];
      deps.print([...page.invitations.map(heldLine), `${page.total} waiting. Decide with: doorman approve <id>, doorman deny <id> --reason "…" (a request's id decides all of it)`, ...more].join('\n'));
    });

  program
    .command('approve')
    .description('approve an invitation waiting for approval: its email goes out, its link\'s expiry (its --expires, or INVITE_TTL) starts now')
    .argument('<id>', 'invitation id (invite_…), or an approval request\'s (request_…): every invitation of it still waiting')
    .addOption(asOption())
    .addOption(jsonOption())
    .action(async (id: string, opts: { as?: string; json?: boolean }) => {
      const services = await deps.open({ asTheService: ['slack'] });
      const decider = await deciderFor(services, opts.as, deps.operator);
      if (APPROVAL_REQUEST_ID.test(id)) {
        const decision = await services.invites.approveRequest(id, decider);
        return deps.print(opts.json ? jsonText(decision) : decidedWords(id, decision, 'Approved', 'Their emails are on their way.'));
      }
      const invitation = await services.invites.approve(id, decider);
      deps.print(opts.json ? jsonText(invitation) : `Approved the invitation to ${invitation.email}; the email is on its way and the link expires ${formatDate(invitation.expiresAt)}.`);
    });

  program
    .command('deny')
    .description('deny an invitation waiting for approval; nothing is sent and the requester is told why')
    .argument('<id>', 'invitation id (invite_…), or an approval request\'s (request_…): every invitation of it still waiting')
    .requiredOption('--reason <text>', 'why, required (the requester reads it)')
    .addOption(asOption())
    .addOption(jsonOption())
    .action(async (id: string, opts: { reason: string; as?: string; json?: boolean }) => {
      const services = await deps.open({ asTheService: ['slack'] });
      const decider = await deciderFor(services, opts.as, deps.operator);
      if (APPROVAL_REQUEST_ID.test(id)) {
        const decision = await services.invites.denyRequest(id, decider, opts.reason);
        return deps.print(opts.json ? jsonText(decision) : decidedWords(id, decision, 'Denied', 'Nothing was sent.'));
      }
      const invitation = await services.invites.deny(id, decider, opts.reason);
      deps.print(opts.json ? jsonText(invitation) : `Denied the invitation to ${invitation.email}; nothing was sent.`);
    });
}
