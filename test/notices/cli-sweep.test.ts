import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvitesService } from '../../src/invites/service.js';
import { SWEEP_MARKS } from '../../src/jobs/expiry-sweep.js';
import { parseAllowedDomains } from '../../src/invites/policy.js';
import { addEndpoint, removeEndpoint } from '../../src/webhooks/endpoints.js';
import type { NoticePayload } from '../../src/notices/queue.js';
import { createTestDatabase, DIALECTS, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, HOUR, SYSTEM_ACTOR } from '../support/slack-world.js';
import { runCliHere, tempDataDir, type Env } from '../support/service.js';

/** The expiry sweep on demand: `doorman sweep` (the function the binary runs). */
describe.each(DIALECTS)('doorman sweep (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let env: Env;
  let heldId: string;
  const slack: Env = { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'secret-for-the-cli-test', SLACK_ADMIN_USER_IDS: `${ADMIN},${ADMIN2}` };
  const notices = async () =>
    (await test.db('outbox').where({ kind: 'slack_notice' }).orderBy('id')).map((r: { payload: string; state: string }) => ({ state: r.state, ...(JSON.parse(r.payload) as NoticePayload) }));

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    env = { DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PUBLIC_URL: 'http://doorman.test' };
    // Made 8 days ago (expired a day ago), and 6.5 days ago (expires within the 24-hour reminder window).
    const clock = new ManualClock(Date.now() - 8 * DAY);
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY });
    await invites.inviteMany({ emails: 'x1@corp.test, x2@corp.test, x3@corp.test', actor: SYSTEM_ACTOR });
    await invites.inviteMany({ emails: 'x4@corp.test', actor: { type: 'slack', slackUserId: 'U0INVITER' } });
    // A request held for approval that nobody decided: it lapses at the sweep, Slack or not.
    const allowed = parseAllowedDomains('corp.test');
    if ('problem' in allowed) throw new Error(allowed.problem);
    const policy = { allowedDomains: allowed.patterns, dailyLimit: 10, unlimitedSlackUserIds: [] };
    const held = await new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY, policy }).inviteMany({ emails: 'held@outside.io', actor: { type: 'slack', slackUserId: 'U0INVITER' } });
    heldId = held.awaitingApproval![0]!.invitationId;
    clock.advance(36 * HOUR);
    await invites.inviteMany({ emails: 'soon@corp.test', actor: SYSTEM_ACTOR });
  });
  afterAll(async () => {
    await test.destroy();
    data.cleanup();
  });

  it('without Slack settings or webhooks: lapses the requests nobody decided, says the expiries wait for someone to tell, and claims none', async () => {
    // An endpoint that takes neither invite.expired nor invite.reminded hears of nothing the sweep does.
    const endpoint = await addEndpoint(test.db, Date.now(), { url: 'http://127.0.0.1:9/created-only', events: ['invite.created'], envUrls: [], appSecret: TEST_SECRET });
    const result = await runCliHere(['sweep'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Approval requests lapsed: 1\. Expiries and reminders were not announced: .*set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or add a webhook endpoint/);
    expect((await test.db('invitations').where({ id: heldId }).first()).decision).toBe('lapsed');
    const again = await runCliHere(['sweep', '--json'], env);
    expect(JSON.parse(again.stdout)).toEqual({ expired: 0, reminded: 0, notices: 0, lapsed: 0, announced: false });
    expect((await notices()).filter((n) => n.notice !== 'approval_decided')).toEqual([]);
    expect(await test.db('job_cursors').whereIn('name', Object.values(SWEEP_MARKS))).toEqual([]);
    expect(await test.db('outbox').where({ kind: 'webhook' })).toEqual([]);
    await removeEndpoint(test.db, endpoint.id, []);
  });

  it('with them: queues one DM per recipient and prints the counts; a second sweep finds nothing new', async () => {
    const first = await runCliHere(['sweep'], { ...env, ...slack });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe('Expired: 4 newly announced; reminders: 1; 5 Slack DM(s) queued for the running service to deliver.');
    const queued = await notices();
    expect(queued.map((n) => `${n.notice} ${n.recipient} ${'invitationIds' in n ? (n.invitationIds?.length ?? 0) : 0}`).sort()).toEqual(
      [`expired ${ADMIN} 3`, `expired ${ADMIN2} 3`, 'expired U0INVITER 1', `reminder ${ADMIN} 1`, `reminder ${ADMIN2} 1`].sort(),
    );
    expect(queued.every((n) => n.state === 'pending')).toBe(true);

    const second = await runCliHere(['sweep', '--json'], { ...env, ...slack });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ expired: 0, reminded: 0, notices: 0 });
    expect(await notices()).toHaveLength(5);
  });
});

/** Without Slack, only what a webhook endpoint takes is claimed: the rest waits to be announced. */
describe.each(DIALECTS)('doorman sweep without Slack, an endpoint taking reminders only (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  afterAll(async () => {
    await test.destroy();
    data.cleanup();
  });

  it('claims the reminders it takes and leaves the expiries unclaimed, for Slack to announce later', async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    const env: Env = { DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PUBLIC_URL: 'http://doorman.test' };
    const clock = new ManualClock(Date.now() - 8 * DAY);
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY });
    await invites.inviteMany({ emails: 'gone@corp.test', actor: SYSTEM_ACTOR });
    clock.advance(36 * HOUR);
    await invites.inviteMany({ emails: 'soon@corp.test', actor: SYSTEM_ACTOR });
    await addEndpoint(test.db, Date.now(), { url: 'http://127.0.0.1:9/reminders', events: ['invite.reminded'], envUrls: [], appSecret: TEST_SECRET });
    const swept = await runCliHere(['sweep', '--json'], env);
    expect(swept.code, swept.stderr).toBe(0);
    expect(JSON.parse(swept.stdout)).toMatchObject({ expired: 0, reminded: 1 });
    const types = ((await test.db('outbox').where({ kind: 'webhook' }).pluck('payload')) as string[]).map((p) => (JSON.parse(p) as { type: string }).type);
    expect(types).toEqual(['invite.reminded']);
    expect(await test.db('job_cursors').where({ name: SWEEP_MARKS.expired })).toEqual([]);
    // With Slack on, the expiry is announced then.
    const withSlack = await runCliHere(['sweep', '--json'], { ...env, SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'secret-for-the-cli-test', SLACK_ADMIN_USER_IDS: ADMIN });
    expect(JSON.parse(withSlack.stdout)).toMatchObject({ expired: 1 });
  });
});
