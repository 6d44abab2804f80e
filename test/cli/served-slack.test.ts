import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../support/db.js';
import { expectOneErrorLine } from '../support/cli-output.js';
import { runCliHere, tempDataDir, type Env } from '../support/service.js';
import { ADMIN, ADMIN2, SlackWorld } from '../support/slack-world.js';
import { eventually } from '../support/wait.js';

/**
 * A CLI run that decides or asks for approvals tells Slack as the service would, or refuses: without
 * the service's Slack settings the approvers' buttons would stay up and the requester would never hear.
 */
describe('doorman CLI beside a service that runs with Slack', () => {
  let h: SlackWorld;
  let data: ReturnType<typeof tempDataDir>;
  let env: Env;
  let slack: Env;
  const REQUESTER = { type: 'slack' as const, slackUserId: ADMIN, name: 'Bootstrap Boss' };
  /** Waits for a Slack call, moving the clock past the DM pacing as it waits. */
  const paced = <T>(find: () => T | undefined, what: string) =>
    eventually(() => {
      h.clock.advance(1_100);
      return find();
    }, 10_000, what);
  const status = async (id: string) => (await h.services.invites.get(id)).status;

  beforeAll(async () => {
    h = await SlackWorld.start('sqlite', { env: { INVITE_ALLOWED_DOMAINS: 'corp.test' } });
    data = tempDataDir();
    env = { DATABASE_URL: h.db.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PUBLIC_URL: 'http://doorman.test' };
    slack = { SLACK_BOT_TOKEN: 'xoxb-cli', SLACK_SIGNING_SECRET: 'the-cli-signing-secret', SLACK_ADMIN_USER_IDS: `${ADMIN2},${ADMIN}` };
  });
  afterAll(async () => {
    data.cleanup();
    await h.stop();
  });

  it('approve, deny, revoke, sweep and deliver without the Slack settings are refused, naming SLACK_BOT_TOKEN; nothing changes', async () => {
    const [held] = (await h.services.invites.inviteMany({ emails: 'outsider@elsewhere.io', actor: REQUESTER })).awaitingApproval!;
    const before = await h.counts();
    for (const args of [['approve', held!.invitationId], ['deny', held!.invitationId, '--reason', 'no'], ['revoke', held!.invitationId, '--yes'], ['sweep'], ['deliver']]) {
      const refused = await runCliHere(args, env);
      expect(refused.code, args[0]).toBe(1);
      expect(expectOneErrorLine(refused)).toBe("doorman: SLACK_BOT_TOKEN: is not set here, but the service runs with Slack: approvers, requesters and inviters would not hear in Slack what this command does; run the CLI with the service's environment");
    }
    expect(await h.counts()).toEqual(before);
    expect(await status(held!.invitationId)).toBe('awaiting_approval');
    // What tells nobody in Slack needs no Slack settings: a list, and the operator's invitations (never held).
    const listed = await runCliHere(['approvals'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('outsider@elsewhere.io');
    const invited = await runCliHere(['invite', 'operator.sent@elsewhere.io'], env);
    expect(invited.code, invited.stderr).toBe(0);
    expect(await status((await h.db.db('invitations').where({ email: 'operator.sent@elsewhere.io' }).first()).id)).toBe('pending');
  });

  it('other bootstrap admins or another approval channel are refused, naming the variable', async () => {
    const [held] = (await h.services.invites.inviteMany({ emails: 'other@elsewhere.io', actor: REQUESTER })).awaitingApproval!;
    const admins = await runCliHere(['approve', held!.invitationId], { ...env, ...slack, SLACK_ADMIN_USER_IDS: ADMIN });
    expect(expectOneErrorLine(admins)).toBe(`doorman: SLACK_ADMIN_USER_IDS: is ${ADMIN} here but ${ADMIN},${ADMIN2} for the service, so other people would be asked or told; run the CLI with the service's environment`);
    const channel = await runCliHere(['approve', held!.invitationId], { ...env, ...slack, SLACK_APPROVAL_CHANNEL: 'C0APPROVE' });
    expect(expectOneErrorLine(channel)).toBe("doorman: SLACK_APPROVAL_CHANNEL: is C0APPROVE here but (not set) for the service, so approval requests would go elsewhere; run the CLI with the service's environment");
    expect(await status(held!.invitationId)).toBe('awaiting_approval');
  });

  it('with them (the admins in any order), an approval from the terminal redraws the approvers\' messages and tells the requester', async () => {
    const [held] = (await h.services.invites.inviteMany({ emails: 'welcome@elsewhere.io', actor: REQUESTER })).awaitingApproval!;
    const asked = await paced(() => h.dms(ADMIN2).find((dm) => String(dm.args.text).startsWith('Invitation to welcome@elsewhere.io ')), 'the approval request');
    const approved = await runCliHere(['approve', held!.invitationId], { ...env, ...slack });
    expect(approved.code, approved.stderr).toBe(0);
    expect(await status(held!.invitationId)).toBe('pending');
    const redrawn = await paced(() => h.api.callsTo('chat.update').find((c) => c.args.ts === asked.answer?.ts && c.args.channel === asked.answer?.channel), 'the request redrawn');
    expect(JSON.stringify(redrawn.args.blocks)).not.toContain('"approval_approve');
    await paced(() => h.dms(ADMIN).find((dm) => dm.args.text === 'Your invitation to welcome@elsewhere.io was approved'), "the requester's DM");
    await h.emailed('welcome@elsewhere.io', 1);
  });
});
