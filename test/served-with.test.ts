import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordServedWith, requireServedWith, type ServedWith } from '../src/served-with.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

const slackOn = { on: true, adminUserIds: ['U0B', 'U0A'], approvalChannel: 'C0APPROVE' };
const served = (slack: ServedWith['slack']): ServedWith => ({ publicUrl: 'http://doorman.test', mail: 'smtp', slack });

describe('the Slack settings recorded at start, which the CLI must match', () => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await test.destroy();
  });

  it('nothing recorded (an older service, or none started yet): nothing is checked', async () => {
    await expect(requireServedWith(test.db, { slack: { on: false, adminUserIds: [] } })).resolves.toBeUndefined();
  });

  it('the admins compared as a set (any order); the approval channel and Slack on or off as they are', async () => {
    expect(await recordServedWith(test.db, served(slackOn), 1_000)).toEqual({});
    await expect(requireServedWith(test.db, { slack: { ...slackOn, adminUserIds: ['U0A', 'U0B'] } })).resolves.toBeUndefined();
    await expect(requireServedWith(test.db, { slack: { ...slackOn, adminUserIds: ['U0A'] } })).rejects.toThrow(/^SLACK_ADMIN_USER_IDS: is U0A here but U0A,U0B for the service/);
    await expect(requireServedWith(test.db, { slack: { ...slackOn, approvalChannel: undefined } })).rejects.toThrow(/^SLACK_APPROVAL_CHANNEL: is \(not set\) here but C0APPROVE for the service/);
    await expect(requireServedWith(test.db, { slack: { on: false, adminUserIds: [] } })).rejects.toThrow(/^SLACK_BOT_TOKEN: is not set here, but the service runs with Slack/);
    // Turned off at the next start: said to the one starting it, and the CLI follows.
    expect(await recordServedWith(test.db, served({ on: false, adminUserIds: [] }), 2_000)).toEqual({ mailBefore: 'smtp', slackBefore: true });
    await expect(requireServedWith(test.db, { slack: { on: false, adminUserIds: ['U0X'] } })).resolves.toBeUndefined();
    await expect(requireServedWith(test.db, { slack: slackOn })).rejects.toThrow(/^SLACK_BOT_TOKEN: is set here, but the service runs without Slack/);
    expect(await recordServedWith(test.db, served(slackOn), 3_000)).toEqual({ mailBefore: 'smtp', slackBefore: false });
  });
});
