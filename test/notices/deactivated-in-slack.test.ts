import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, eventually, MEMBER_ADMIN, pause, SLACK_ACTOR, SlackWorld, textOf } from '../support/slack-world.js';

/**
 * Slack takes a DM to someone deactivated in Slack, and nobody reads it: what their inviter would
 * have heard goes to the bootstrap admins instead, as for a member deactivated in Doorman.
 */
describe.each(DIALECTS)('notices for an inviter deactivated in Slack (%s)', (dialect) => {
  let h: SlackWorld;

  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('the expiry and the acceptance of their invitations reach the bootstrap admins, and nothing is posted to them', async () => {
    await h.invite(['left-expired@corp.test', 'left-joined@corp.test'], SLACK_ACTOR);
    await h.smtp.waitFor(2);
    // Ada leaves the company: her Slack account is deactivated; her Doorman member stays as it was.
    h.api.users.set(MEMBER_ADMIN, { email: 'ada@corp.test', name: 'Ada Admin', deleted: true });
    await h.accept('left-joined@corp.test');
    h.clock.advance(7 * DAY + 1);
    await h.sweep();
    for (const admin of [ADMIN, ADMIN2]) {
      // One DM a second per recipient: the pace's clock is the test's.
      const dms = await eventually(() => {
        h.clock.advance(1_100);
        return h.dms(admin).length >= 2 ? h.dms(admin) : undefined;
      }, 10_000, `two DMs to ${admin}`);
      const texts = dms.map((dm) => textOf(dm.args as any)).join('\n');
      expect(texts).toContain('left-joined@corp.test accepted their invitation');
      expect(texts).toContain('left-expired@corp.test');
    }
    await pause(300);
    expect(h.dms(MEMBER_ADMIN)).toEqual([]);
    const cancelled = await h.db.db('outbox').where({ kind: 'slack_notice', state: 'cancelled' }).where('last_error', 'like', '%deactivated in Slack%');
    expect(cancelled).toHaveLength(2);
  });
});
