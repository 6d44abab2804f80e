import { webApi } from '@slack/bolt';
import { inTransaction } from '../../db/index.js';
import { noticeOf, queueForStandIns, queueNotices, mayStillHear, weeklyReportKey, SLACK_NOTICE, type NoticePayload } from '../../notices/queue.js';
import type { OutboxRow } from '../../outbox/outbox.js';
import type { DeliveryOutcome, OutboxHandler } from '../../outbox/handler.js';
import { RetryLater } from '../../outbox/retry.js';
import type { Clock } from '../../shared/clock.js';
import type { DeactivatedInSlack } from './deactivated.js';
import type { ChannelPacer } from './pacer.js';
import type { Logger } from '../../logger.js';
import { CHANNEL_OUT_OF_REACH, CHANNEL_RETRY_MS, channelWarner, PERSON_OUT_OF_REACH } from '../refusals.js';
import { refusalOrRetry, type SlackAppHold } from './refusal-or-retry.js';
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

/**
 * Delivers queued notices as DMs (chat.postMessage to a user id opens the DM), and the weekly
 * report to REPORT_CHANNEL. A person Slack says cannot be reached is heard for by the stand-ins;
 * a channel the bot cannot post in keeps its report waiting for the operator, with a warning.
 */
export function slackNoticeHandler(
  deps: NoticeDeps & { clock: Clock; logger: Logger },
  client: webApi.WebClient,
  pacer: ChannelPacer,
  hold: SlackAppHold,
  options: { absent?: AbsentRecipients; /** REPORT_CHANNEL now. */ reportChannel?: string } = {},
): OutboxHandler {
  const { absent } = options;
  const warnChannel = channelWarner(deps.logger, deps.clock);
  const standInsFor = async (item: OutboxRow, payload: NoticePayload, wasStandIn = false): Promise<number> =>
    absent ? inTransaction(deps.db, (trx) => queueForStandIns(trx, deps.clock.now(), payload, absent.bootstrapAdmins, item, wasStandIn)) : 0;
  return {
    kind: SLACK_NOTICE,
    heldUntil: () => hold.until(),
    async deliver(item: OutboxRow): Promise<DeliveryOutcome> {
      hold.throwIfHeld();
      // A reminder's moment rides along into any stand-in's copy (noticeOf).
      const payload = noticeOf(item);
      const message = await renderFirstPost(deps, item.id, payload);
      if (message === 'overtaken') return { result: 'cancelled', reason: 'overtaken: none of its invitations is in the state it tells of any more' };
      if (!message) return { result: 'cancelled', reason: 'nothing left to tell' };
      // Without bootstrap admins the linked admins stand in, and this recipient may have heard as one.
      if (absent && !(await mayStillHear(deps.db, payload, absent.bootstrapAdmins))) {
        const told = await standInsFor(item, payload, absent.bootstrapAdmins.length === 0);
        return { result: 'cancelled', reason: `the recipient can no longer act in Doorman (deactivated or no longer an admin)${told ? `; queued for ${told} admin(s) instead` : ''}` };
      }
      if (absent && (await absent.deactivated.has(payload.recipient))) {
        const told = await standInsFor(item, payload);
        return { result: 'cancelled', reason: `the recipient is deactivated in Slack${told ? `; queued for ${told} admin(s) instead` : ''}` };
      }
      const wait = pacer.reserve(payload.recipient, item.id);
      if (wait > 0) throw new RetryLater(pacer.holding() ? 'waiting out a 429 from Slack (Retry-After)' : `pacing messages to ${payload.recipient}`, wait, true);
      try {
        await client.chat.postMessage({ channel: payload.recipient, text: message.text, blocks: message.blocks as never, unfurl_links: false, unfurl_media: false });
      } catch (error) {
        const refused = refusalOrRetry(error, pacer, payload.recipient, item.id, hold);
        // REPORT_CHANNEL (an id or a #name): a person is a U… or W… id.
        const toChannel = payload.notice === 'weekly_report' && !/^[UW]/.test(payload.recipient);
        if (toChannel && CHANNEL_OUT_OF_REACH.has(refused)) {
          // Queued for a channel the settings no longer name (a wrong one corrected): posted where reports go now.
          if (payload.recipient !== options.reportChannel) {
            if (options.reportChannel) await inTransaction(deps.db, (trx) => queueNotices(trx, deps.clock.now(), [{ ...payload, recipient: options.reportChannel! }], (copy) => weeklyReportKey(payload.periodEnd, copy.recipient)));
            return { result: 'cancelled', reason: `Slack refused it: ${refused}; REPORT_CHANNEL is no longer ${payload.recipient}${options.reportChannel ? `, so it was queued for ${options.reportChannel}` : ''}` };
          }
          warnChannel('REPORT_CHANNEL', payload.recipient, refused, 'the weekly report waits until it can be posted');
          throw new RetryLater(`Slack refused it: ${refused}`, CHANNEL_RETRY_MS, true);
        }
        const told = !toChannel && PERSON_OUT_OF_REACH.has(refused) ? await standInsFor(item, payload) : 0;
        const reason = `Slack refused it: ${refused}${told ? `; queued for ${told} admin(s) instead` : ''}`;
        deps.logger.warn({ outbox: item.id, recipient: payload.recipient, notice: payload.notice }, `a Slack notice was not delivered: ${reason}`);
        return { result: 'cancelled', reason };
      }
      hold.passed();
      return { result: 'done' };
    },
  };
}
