import { webApi } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { RetryLater } from '../../../src/outbox/retry.js';
import { ChannelPacer } from '../../../src/slack/notices/pacer.js';
import { refusalOrRetry } from '../../../src/slack/notices/refusal-or-retry.js';
import { ManualClock } from '../../support/db.js';

describe('refusalOrRetry', () => {
  const slackError = (code: string, extra: Record<string, unknown>) => Object.assign(new Error(code), { code, ...extra });
  const refused = (error: string) => slackError(webApi.ErrorCode.PlatformError, { data: { ok: false, error } });

  it("answers Slack's refusals for good (the item is dropped with it), an archived channel's is_inactive among them", () => {
    const pacer = new ChannelPacer(new ManualClock());
    for (const code of ['channel_not_found', 'is_archived', 'is_inactive', 'message_not_found', 'msg_blocks_too_long']) {
      expect(refusalOrRetry(refused(code), pacer, 'C1', 1)).toBe(code);
    }
  });

  it('throws what a retry may fix, for the outbox to retry with backoff: an internal error, a time-out, a network fault', () => {
    const pacer = new ChannelPacer(new ManualClock());
    for (const error of [refused('internal_error'), refused('fatal_error'), slackError(webApi.ErrorCode.RequestError, {}), new Error('socket hang up')]) {
      expect(() => refusalOrRetry(error, pacer, 'C1', 1)).toThrow(error);
    }
    // Refusals of the app itself (its token, its bot, the workspace's settings): the operator fixes those, and nothing queued is lost meanwhile.
    for (const error of ['account_inactive', 'no_permission', 'restricted_action', 'token_revoked', 'invalid_auth', 'missing_scope'].map(refused)) {
      expect(() => refusalOrRetry(error, pacer, 'C1', 1)).toThrow(error);
    }
    expect(pacer.reserve('C2', 2)).toBe(0);
  });

  it('waits out a 429 for its Retry-After, holding every channel meanwhile', () => {
    const clock = new ManualClock();
    const pacer = new ChannelPacer(clock);
    let thrown: unknown;
    try {
      refusalOrRetry(slackError(webApi.ErrorCode.RateLimitedError, { retryAfter: 3 }), pacer, 'C1', 1);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RetryLater);
    expect((thrown as RetryLater).afterMs).toBe(3_000);
    // A wait asked for, not a failure: neither logged as one nor counted.
    expect((thrown as RetryLater).expected).toBe(true);
    expect(pacer.reserve('C2', 2)).toBeGreaterThanOrEqual(3_000);
  });
});
