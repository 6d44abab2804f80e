import { webApi } from '@slack/bolt';
import { inTransaction } from '../../db/index.js';
import { queueForStandIns, SLACK_NOTICE, type NoticePayload } from '../../notices/queue.js';
import type { OutboxRow } from '../../outbox/outbox.js';
import { RetryLater, type DeliveryOutcome, type OutboxHandler } from '../../outbox/worker.js';
import type { Clock } from '../../shared/clock.js';
import type { DeactivatedInSlack } from './deactivated.js';
import type { ChannelPacer } from './pacer.js';
import { refusalOrRetry } from './refusal-or-retry.js';
import { renderFirstPost, type NoticeDeps } from './render.js';

/**
 * A Web API client for the outbox: it does not wait out 429s or retry by itself, so each failure
 * goes back to the outbox, which keeps the item across restarts and retries with backoff.
 */
export function noticeClient(token: string, slackApiUrl: string | undefined, logger?: webApi.WebClientOptions['logger'], fetch?: webApi.WebClientOptions['fetch']): webApi.WebClient {
  return new webApi.WebClient(token, {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
    ...(logger ? { logger } : {}),
    ...(fetch ? { fetch } : {}),
  });
}

/** Who hears in the place of a recipient deactivated in Slack (see DeactivatedInSlack). */
export interface AbsentRecipients {
  deactivated: DeactivatedInSlack;
  /** SLACK_ADMIN_USER_IDS. */
  bootstrapAdmins: readonly string[];
}

/** Delivers queued notices as DMs (chat.postMessage to a user id opens the DM). */
export function slackNoticeHandler(deps: NoticeDeps & { clock: Clock }, client: webApi.WebClient, pacer: ChannelPacer, absent?: AbsentRecipients): OutboxHandler {
  return {
    kind: SLACK_NOTICE,
    async deliver(item: OutboxRow): Promise<DeliveryOutcome> {
      const payload = JSON.parse(item.payload) as NoticePayload;
      const message = await renderFirstPost(deps, item.id, payload);
      if (message === 'overtaken') return { result: 'cancelled', reason: 'overtaken: none of its invitations is in the state it tells of any more' };
      if (!message) return { result: 'cancelled', reason: 'nothing left to tell' };
      if (absent && (await absent.deactivated.has(payload.recipient))) {
        const told = await inTransaction(deps.db, (trx) => queueForStandIns(trx, deps.clock.now(), payload, absent.bootstrapAdmins, item.id));
        return { result: 'cancelled', reason: `the recipient is deactivated in Slack${told ? `; queued for ${told} admin(s) instead` : ''}` };
      }
      const wait = pacer.reserve(payload.recipient, item.id);
      if (wait > 0) throw new RetryLater(pacer.holding() ? 'waiting out a 429 from Slack (Retry-After)' : `pacing messages to ${payload.recipient}`, wait, true);
      try {
        await client.chat.postMessage({ channel: payload.recipient, text: message.text, blocks: message.blocks as never, unfurl_links: false, unfurl_media: false });
      } catch (error) {
        return { result: 'cancelled', reason: `Slack refused it: ${refusalOrRetry(error, pacer, payload.recipient, item.id)}` };
      }
      return { result: 'done' };
    },
  };
}
