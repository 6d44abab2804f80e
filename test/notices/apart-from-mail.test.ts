import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { DAY, eventually, MEMBER_ADMIN, SlackWorld, SLACK_ACTOR } from '../support/slack-world.js';

/**
 * Slack notices have a worker of their own: emails stuck on a mail server that hangs (an outage, a
 * long MAIL_RATE backlog) never hold up a DM.
 */
describe.each(DIALECTS)('notices apart from mail (%s)', (dialect) => {
  let h: SlackWorld;

  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
  });
  afterAll(async () => {
    await h.stop();
  });

  it('an expiry DM goes out while every email lane waits on a hung mail server', async () => {
    const before = h.smtp.received.length;
    await h.invite(['early@corp.test'], SLACK_ACTOR);
    await h.smtp.waitFor(before + 1);
    // Every email from now on hangs in DATA: the lanes stay busy until SMTP_TIMEOUT (30 s).
    h.smtp.fail({ kind: 'hang', at: 'data', times: 1_000 });
    await h.invite(Array.from({ length: 20 }, (_, i) => `stuck${i}@corp.test`), SLACK_ACTOR);
    await eventually(async () => Number((await h.db.db('outbox').where({ kind: 'invite_email' }).whereNotNull('locked_until').count({ n: '*' }))[0]!.n) > 0, 5_000, 'the stuck emails claimed');
    h.clock.advance(7 * DAY + 1);
    const swept = await h.sweep();
    expect(swept.notices).toBeGreaterThanOrEqual(1);
    const dms = () => h.api.callsTo('chat.postMessage').filter((c) => c.args.channel === MEMBER_ADMIN && c.ok);
    await eventually(() => dms().length >= 1, 5_000, 'the expiry DM, while the emails hang');
    expect(h.smtp.received.length).toBe(before + 1);
  }, 30_000);
});
