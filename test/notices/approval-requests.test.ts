import { describe, expect, it } from 'vitest';
import { parseAllowedDomains } from '../../src/invites/policy.js';
import { InvitesService } from '../../src/invites/service.js';
import { queueApprovalDecided, queueApprovalRequests, SLACK_APPROVAL } from '../../src/notices/approvals.js';
import { SLACK_NOTICE } from '../../src/notices/queue.js';
import { newId } from '../../src/shared/ids.js';
import { DIALECTS } from '../support/db.js';
import { CLI, SETTINGS, useWorld } from '../invites/fixtures.js';

const allowed = parseAllowedDomains('acme.com');
const TTL_PLUS = 8 * 86_400_000;
if ('problem' in allowed) throw new Error(allowed.problem);

describe.each(DIALECTS)('approval requests: who is asked (%s)', (dialect) => {
  const world = useWorld(dialect);

  it('every approver in Slack but the requester, also when the requester was deactivated and is back under another account', async () => {
    const w = world();
    await w.members.create({ email: 'other@acme.com', role: 'admin', slackUserId: 'U0OTHER' }, CLI);
    const asker = (await w.members.create({ email: 'asker@acme.com', role: 'admin', slackUserId: 'U0BACK' }, CLI)).member;
    // Asked through the API (only the member is stored as requester)…
    const invites = new InvitesService(w.db, w.clock, { ...SETTINGS, members: w.members, policy: { allowedDomains: allowed.patterns, dailyLimit: 10, unlimitedSlackUserIds: [] } });
    const [held] = (await invites.inviteMany({ emails: 'boss@acme.com', role: 'admin', actor: { type: 'member', memberId: asker.id, name: 'Asker' } })).awaitingApproval!;
    // …then deactivated (the link released) and back under another address, with the same Slack user.
    await w.members.deactivate(asker.id, CLI);
    await w.members.create({ email: 'asker@new.acme.com', role: 'admin', slackUserId: 'U0BACK' }, CLI);

    const invitation = await invites.get(held!.invitationId);
    await w.db.transaction((trx) => queueApprovalRequests(trx, w.clock.now(), [invitation], { bootstrapAdmins: ['U0BOOT'] }));
    const asked = (await w.db('outbox').where({ kind: SLACK_APPROVAL }).select('payload')) as Array<{ payload: string }>;
    expect(asked.map((row) => (JSON.parse(row.payload) as { recipient: string }).recipient).sort()).toEqual(['U0BOOT', 'U0OTHER']);
  });

  /** The service as app.ts wires it with Slack on: requests and decisions queue their messages. */
  const wired = (w: ReturnType<typeof world>) => {
    const settings = { bootstrapAdmins: ['U0BOOT'] };
    return new InvitesService(w.db, w.clock, {
      ...SETTINGS,
      members: w.members,
      policy: { allowedDomains: allowed.patterns, dailyLimit: 10, unlimitedSlackUserIds: [ASKER.slackUserId] },
      onApprovalRequested: (trx, now, invitations) => queueApprovalRequests(trx, now, invitations, settings),
      onApprovalDecided: (trx, now, invitations) => queueApprovalDecided(trx, now, invitations, settings),
    });
  };
  const ASKER = { type: 'slack' as const, slackUserId: 'U0ASK', name: 'Asker' };
  const items = async (w: ReturnType<typeof world>, kind: string) =>
    ((await w.db('outbox').where({ kind }).orderBy('id').select('payload')) as Array<{ payload: string }>).map((row) => JSON.parse(row.payload) as Record<string, unknown>);
  const requestIds = async (w: ReturnType<typeof world>, like: string) => new Set((await w.db('invitations').where('email', 'like', like).pluck('approval_request_id')) as string[]);

  it('a list longer than one statement group (2,001 outside addresses) is one request: each approver is asked once', async () => {
    const w = world();
    await w.members.create({ email: 'other@acme.com', role: 'admin', slackUserId: 'U0OTHER' }, CLI);
    const emails = Array.from({ length: 2_001 }, (_, i) => `p${i}@outside.io`);
    const summary = await wired(w).inviteMany({ emails, actor: ASKER });
    expect(summary.awaitingApproval).toHaveLength(2_001);
    const ids = await requestIds(w, '%@outside.io');
    expect(ids.size).toBe(1);
    const [requestId] = [...ids];
    expect(await items(w, SLACK_APPROVAL)).toEqual([
      { op: 'post', requestId, recipient: 'U0BOOT' },
      { op: 'post', requestId, recipient: 'U0OTHER' },
    ]);
  }, 60_000);

  it('Send new invitations to all, of expired addresses the rule now holds, is one request: asked once, redrawn as it grows', async () => {
    const w = world();
    const invites = wired(w);
    // Invited by the operator (never held), then expired.
    const sent = await invites.inviteMany({ emails: 'e1@outside.io e2@outside.io e3@outside.io', actor: CLI });
    w.clock.advance(TTL_PLUS);
    const { sent: again } = await invites.renewAll(sent.invitationIds, ASKER);
    expect(again.map((i) => i.status)).toEqual(['awaiting_approval', 'awaiting_approval', 'awaiting_approval']);
    const ids = await requestIds(w, 'e_@outside.io');
    expect(ids.size).toBe(1);
    const [requestId] = [...ids];
    expect(await items(w, SLACK_APPROVAL)).toEqual([
      { op: 'post', requestId, recipient: 'U0BOOT' },
      { op: 'update', requestId },
      { op: 'update', requestId },
    ]);
  });

  it('a request lapses whole in one sweep, more than a transaction\'s share of it due: its requester gets one DM', async () => {
    const w = world();
    const invites = wired(w);
    await invites.inviteMany({ emails: Array.from({ length: 501 }, (_, i) => `l${i}@outside.io`), actor: ASKER });
    w.clock.advance(TTL_PLUS);
    expect(await invites.lapseDueRequests()).toBe(501);
    const told = (await items(w, SLACK_NOTICE)).filter((n) => n.notice === 'approval_decided');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ recipient: 'U0ASK' });
    expect((told[0]!.invitationIds as string[]).length).toBe(501);
    expect((await items(w, SLACK_APPROVAL)).filter((i) => i.op === 'update')).toHaveLength(1);
  }, 60_000);

  it('a request whose parts were held at different times (an import\'s batches) lapses whole when its first part\'s window ends: one DM', async () => {
    const w = world();
    const invites = wired(w);
    const approvalRequestId = newId('request');
    await invites.inviteMany({ emails: 'b1@outside.io b2@outside.io', actor: ASKER, approvalRequestId });
    w.clock.advance(86_400_000);
    await invites.inviteMany({ emails: 'b3@outside.io', actor: ASKER, approvalRequestId });
    w.clock.advance(6 * 86_400_000 + 3_600_000);
    expect(await invites.lapseDueRequests()).toBe(3);
    const told = (await items(w, SLACK_NOTICE)).filter((n) => n.notice === 'approval_decided');
    expect(told).toHaveLength(1);
    expect((told[0]!.invitationIds as string[]).length).toBe(3);
  });
});
