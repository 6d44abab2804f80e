import { describe, expect, it } from 'vitest';
import { mailRateText, parseMailRate } from '../src/mail/pace.js';
import { recordServedWith, requireServedWith, type ServedWith } from '../src/served-with.js';
import { useTestDatabase } from './support/db.js';

const slackOn = { on: true, adminUserIds: ['U0B', 'U0A'], approvalChannel: 'C0APPROVE' };
const served = (slack: ServedWith['slack']): ServedWith => ({ publicUrl: 'http://doorman.test', mail: 'smtp', mailRate: 'none', slack });

describe('the Slack settings recorded at start, which the CLI must match', () => {
  // One database for the block: the first case reads it before anything is recorded.
  const database = useTestDatabase('sqlite');

  it('nothing recorded (an older service, or none started yet): nothing is checked', async () => {
    await expect(requireServedWith(database().db, { slack: { on: false, adminUserIds: [] } })).resolves.toBeUndefined();
  });

  it('the admins compared as a set (any order); the approval channel and Slack on or off as they are', async () => {
    expect(await recordServedWith(database().db, served(slackOn), 1_000)).toEqual({});
    await expect(requireServedWith(database().db, { slack: { ...slackOn, adminUserIds: ['U0A', 'U0B'] } })).resolves.toBeUndefined();
    await expect(requireServedWith(database().db, { slack: { ...slackOn, adminUserIds: ['U0A'] } })).rejects.toThrow(/^SLACK_ADMIN_USER_IDS: is U0A here but U0A,U0B for the service/);
    await expect(requireServedWith(database().db, { slack: { ...slackOn, approvalChannel: undefined } })).rejects.toThrow(/^SLACK_APPROVAL_CHANNEL: is \(not set\) here but C0APPROVE for the service/);
    await expect(requireServedWith(database().db, { slack: { on: false, adminUserIds: [] } })).rejects.toThrow(/^SLACK_BOT_TOKEN: is not set here, but the service runs with Slack/);
    // Turned off at the next start: said to the one starting it, and the CLI follows.
    expect(await recordServedWith(database().db, served({ on: false, adminUserIds: [] }), 2_000)).toEqual({ mailBefore: 'smtp', slackBefore: true });
    await expect(requireServedWith(database().db, { slack: { on: false, adminUserIds: ['U0X'] } })).resolves.toBeUndefined();
    await expect(requireServedWith(database().db, { slack: slackOn })).rejects.toThrow(/^SLACK_BOT_TOKEN: is set here, but the service runs without Slack/);
    expect(await recordServedWith(database().db, served(slackOn), 3_000)).toEqual({ mailBefore: 'smtp', slackBefore: false });
  });

  it('MAIL_RATE as the service has it: emails delivered by the CLI keep the provider\'s pace', async () => {
    expect([mailRateText(parseMailRate('14/s')), mailRateText(parseMailRate(' 500 / h')), mailRateText(undefined)]).toEqual(['14/s', '500/h', 'none']);
    await recordServedWith(database().db, { ...served(slackOn), mailRate: '14/s' }, 4_000);
    await expect(requireServedWith(database().db, { mailRate: '14/s' })).resolves.toBeUndefined();
    await expect(requireServedWith(database().db, { mailRate: 'none' })).rejects.toThrow(/^MAIL_RATE: is none here but 14\/s for the service, so emails delivered here would not keep the mail provider's pace/);
    await expect(requireServedWith(database().db, { mailRate: '20/s' })).rejects.toThrow(/^MAIL_RATE: is 20\/s here but 14\/s/);
  });
});
