import { describe, expect, it } from 'vitest';
import { parseAllowedDomains } from '../../src/invites/policy.js';
import { InvitesService } from '../../src/invites/service.js';
import { queueApprovalRequests } from '../../src/notices/approvals.js';
import { DIALECTS } from '../support/db.js';
import { CLI, SETTINGS, useWorld } from '../invites/fixtures.js';

const allowed = parseAllowedDomains('acme.com');
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
    const asked = (await w.db('outbox').where({ kind: 'slack_approval' }).select('payload')) as Array<{ payload: string }>;
    expect(asked.map((row) => (JSON.parse(row.payload) as { recipient: string }).recipient).sort()).toEqual(['U0BOOT', 'U0OTHER']);
  });
});
