import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, LINKED, MEMBER_ADMIN, pause, SlackWorld, SYSTEM_ACTOR, textOf } from '../support/slack-world.js';

/**
 * Without SLACK_ADMIN_USER_IDS, what the inviter cannot hear (no Slack user, or deactivated since)
 * goes to the admin members linked to a Slack user instead of nowhere.
 */
describe.each(DIALECTS)('notices with no bootstrap admins (%s)', (dialect) => {
  let h: SlackWorld;

  beforeAll(async () => {
    h = await SlackWorld.start(dialect, { env: { SLACK_ADMIN_USER_IDS: '' } });
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('an acceptance and an expiry of invitations sent from the CLI reach the linked admin, and only them', async () => {
    await h.invite(['cli-joiner@corp.test'], SYSTEM_ACTOR);
    await h.invite(['cli-lapsed@corp.test'], SYSTEM_ACTOR);
    await h.smtp.waitFor(2);
    await h.accept('cli-joiner@corp.test');
    const [note] = await h.waitForDms(LINKED, 1);
    expect(note!.args.text).toBe('cli-joiner@corp.test accepted their invitation and joined as Member');
    h.clock.advance(7 * DAY + 1);
    await h.sweep();
    const [, expiry] = await h.waitForDms(LINKED, 2);
    expect(textOf(expiry!.args as any)).toContain('cli-lapsed@corp.test');
    expect(textOf(expiry!.args as any)).not.toContain('cli-joiner@corp.test');
    await pause(300);
    for (const other of [ADMIN, ADMIN2, MEMBER_ADMIN]) expect(h.dms(other)).toEqual([]);
  });
});
