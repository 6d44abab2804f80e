import { webApi } from '@slack/bolt';
import { inTransaction, retryThroughOutage, type Db } from '../../db/index.js';
import type { Invitation } from '../../invites/model.js';
import type { InvitesService } from '../../invites/service.js';
import type { Logger } from '../../logger.js';
import { queueApprovalRequests, redrawItem, releasePostUnlessGrown, redrawPayload, SLACK_APPROVAL, SLACK_APPROVAL_BEFORE_REQUESTS, type ApprovalPayload, type ApprovalSettings, type PayloadBeforeRequests } from '../../notices/approvals.js';
import { enqueue, type OutboxRow } from '../../outbox/outbox.js';
import type { DeliveryOutcome, OutboxHandler } from '../../outbox/handler.js';
import { RetryLater } from '../../outbox/retry.js';
import { SLACK_CHANNEL_ID } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { approvalRequest } from '../blocks/approvals.js';
import type { ChannelPacer } from './pacer.js';
import { refusalOrRetry, type SlackAppHold } from './refusal-or-retry.js';
import { CHANNEL_OUT_OF_REACH, CHANNEL_RETRY_MS, channelWarner, rateLimitWaitMs } from '../refusals.js';

/** How long a database out of reach may keep a posted copy from being recorded before it is given up. */
const COPY_KEPT_WITHIN_MS = 60_000;

export interface ApprovalMessageDeps {
  db: Db;
  /** Where requests go now (SLACK_APPROVAL_CHANNEL, or the approvers' DMs). */
  settings: ApprovalSettings;
  invites: InvitesService;
  clock: Clock;
  logger: Logger;
}

/**
 * Delivers approval requests and keeps every copy current. A post records the message's channel
 * and ts (approval_request_messages), so a decision can update each copy in place for everyone; a
 * request decided while its post was on the way is redrawn right after posting. One redraw serves
 * every decision committed before it, so the others waiting for the same request are dropped.
 * Answers a handler for the items of the version before requests were kept too.
 */
export function approvalMessageHandlers(deps: ApprovalMessageDeps, client: webApi.WebClient, pacer: ChannelPacer, hold: SlackAppHold): OutboxHandler[] {
  const warnChannel = channelWarner(deps.logger, deps.clock);
  // On stop, a copy waiting for the database is given up rather than holding the stop.
  let stopping = false;
  const deliver = async (item: OutboxRow): Promise<DeliveryOutcome> => {
    hold.throwIfHeld();
    const payload = await currentPayload(deps, item);
    if (!payload) return { result: 'cancelled', reason: 'the invitation is gone' };
    const requestId = payload.requestId;
    if (payload.op === 'update' && (await laterRedrawWaits(deps, item, requestId))) return { result: 'cancelled', reason: 'a later redraw of the request waits' };
    const invitations = await deps.invites.approvalRequest(requestId);
    if (!invitations.length) return { result: 'cancelled', reason: 'the invitations are gone' };
    const message = approvalRequest(invitations);
    const waiting = invitations.filter((invitation) => invitation.status === 'awaiting_approval');
    if (payload.op === 'post') {
      if (waiting.length === 0) {
        // Decided before anyone was asked: nobody needs the request now. Should it grow (a file
        // import's next batch), the recipient is asked then, so the post gives up its dedupe key.
        if (await inTransaction(deps.db, (trx) => releasePostUnlessGrown(trx, item, requestId))) return { result: 'cancelled', reason: 'decided before it was posted' };
        throw new RetryLater('the request grew while its post was dropped', 0, true);
      }
      const wait = pacer.reserve(payload.recipient, item.id);
      if (wait > 0) throw new RetryLater(`pacing messages to ${payload.recipient}`, wait, true);
      let posted: { channel?: string; ts?: string };
      try {
        posted = await client.chat.postMessage({ channel: payload.recipient, text: message.text, blocks: message.blocks as never, unfurl_links: false, unfurl_media: false });
      } catch (error) {
        const refused = refusalOrRetry(error, pacer, payload.recipient, item.id, hold);
        // The approval channel without the bot (a private one it cannot see, an archived one): the
        // requests wait until the operator mends it, instead of being dropped while the requester was
        // told approvers were asked. A person's DM refused for good (a deactivated user) is dropped:
        // every other approver was asked too.
        if (SLACK_CHANNEL_ID.test(payload.recipient) && CHANNEL_OUT_OF_REACH.has(refused)) {
          const now = deps.clock.now();
          // Queued for an approval channel the settings no longer name (a wrong id corrected, or DMs
          // chosen): asked again where requests go now. Only on a refusal, so instances whose settings
          // differ for a moment (a rolling restart) never pass a request back and forth; once per recipient.
          if (payload.recipient !== deps.settings.channel) {
            await inTransaction(deps.db, (trx) => queueApprovalRequests(trx, now, waiting, deps.settings));
            return { result: 'cancelled', reason: `SLACK_APPROVAL_CHANNEL is no longer ${payload.recipient}; asked again where requests go now` };
          }
          warnChannel('SLACK_APPROVAL_CHANNEL', payload.recipient, refused, 'the waiting approval requests are posted once it is mended');
          throw new RetryLater(`Slack refused it: ${refused}`, CHANNEL_RETRY_MS, true);
        }
        deps.logger.warn({ outbox: item.id, recipient: payload.recipient }, `an approval request was not posted to an approver: Slack refused it: ${refused}`);
        return { result: 'cancelled', reason: `Slack refused it: ${refused}` };
      }
      hold.passed();
      if (!posted.channel || !posted.ts) return { result: 'done' };
      const copy = { channel: posted.channel, ts: posted.ts };
      // Posted: a database fault from here on must not send the item back, or the request would be
      // posted again and this copy's buttons never redrawn.
      await retryThroughOutage(() => keepCopy(deps, client, requestId, copy, message), { outageMs: COPY_KEPT_WITHIN_MS, stopping: () => stopping }).catch((error: unknown) => {
        deps.logger.error({ err: error, ...copy }, 'an approval request was posted but could not be recorded: a decision will not redraw that copy');
      });
      return { result: 'done' };
    }
    const copies = await postedCopies(deps, requestId, payload.channels);
    const limited = await updateCopies(deps, client, pacer, item.id, copies, message);
    // Another instance may have drawn a later state meanwhile, which these writes covered: drawn again.
    const current = copies.length ? await deps.invites.approvalRequest(requestId) : [];
    const changed = current.length > 0 && !drawnAlike(current, message);
    if (limited) {
      // Slack's 429 part-way through the copies: those drawn stay drawn, and only the rest wait for
      // its Retry-After (retrying from the first would meet the limit at the same copy again), or
      // every copy when the request changed meanwhile.
      const rest = changed ? {} : { channels: copies.slice(limited.at).map((c) => c.channel) };
      await queueRedraw(deps, invitations[0]!.id, requestId, { ...rest, notBefore: deps.clock.now() + limited.waitMs });
    } else if (changed) await queueRedraw(deps, current[0]!.id, requestId);
    return { result: 'done' };
  };
  return [
    { kind: SLACK_APPROVAL, deliver, heldUntil: () => hold.until(), interrupt: () => void (stopping = true) },
    { kind: SLACK_APPROVAL_BEFORE_REQUESTS, deliver, heldUntil: () => hold.until(), interrupt: () => void (stopping = true) },
  ];
}

/**
 * Records a posted copy of a request, so decisions redraw it; a request decided while it was being
 * posted is redrawn at once (the decision's own redraw may have run before the copy was kept).
 */
async function keepCopy(deps: ApprovalMessageDeps, client: webApi.WebClient, requestId: string, copy: { channel: string; ts: string }, drawn: { text: string; blocks: unknown[] }): Promise<void> {
  await deps.db('approval_request_messages').insert({ request_id: requestId, ...copy, created_at: deps.clock.now() }).onConflict(['request_id', 'channel']).merge(['ts', 'created_at']);
  const after = await deps.invites.approvalRequest(requestId);
  if (!after.length || drawnAlike(after, drawn)) return;
  await updateOne(client, copy.channel, copy.ts, approvalRequest(after)).catch(async (error: unknown) => {
    deps.logger.warn({ err: error }, 'could not redraw an approval request decided while it was posted; it is redrawn again');
    await queueRedraw(deps, after[0]!.id, requestId);
  });
}

/** Whether these invitations draw the message drawn before (nothing about the request changed that shows). */
function drawnAlike(invitations: Invitation[], drawn: { text: string; blocks: unknown[] }): boolean {
  return JSON.stringify(approvalRequest(invitations)) === JSON.stringify(drawn);
}

async function queueRedraw(deps: ApprovalMessageDeps, invitationId: string, requestId: string, later?: { channels?: string[]; notBefore: number }): Promise<void> {
  await inTransaction(deps.db, (trx) => enqueue(trx, deps.clock.now(), [redrawItem(invitationId, requestId, later)]));
}

/**
 * Draws the message on each copy; a copy deleted or out of reach stays as it is. Answers where
 * Slack's 429 stopped it part-way, and for how long (a 429 at the first copy retries the item).
 */
async function updateCopies(deps: ApprovalMessageDeps, client: webApi.WebClient, pacer: ChannelPacer, itemId: number, copies: Array<{ channel: string; ts: string }>, message: { text: string; blocks: unknown[] }): Promise<{ at: number; waitMs: number } | undefined> {
  for (const [i, copy] of copies.entries()) {
    try {
      await updateOne(client, copy.channel, copy.ts, message);
    } catch (error) {
      // Past the first copy, a 429 stops here and the rest wait; at the first, the item retries.
      const waitMs = i > 0 ? rateLimitWaitMs(error) : undefined;
      if (waitMs !== undefined) {
        pacer.rateLimited(copy.channel, itemId, waitMs);
        return { at: i, waitMs };
      }
      deps.logger.info({ channel: copy.channel, refused: refusalOrRetry(error, pacer, copy.channel, itemId) }, 'an approval request could not be updated');
    }
  }
  return undefined;
}

/** The item's payload naming its request; an item of the version before requests were kept names an invitation, whose request it is now. */
async function currentPayload(deps: ApprovalMessageDeps, item: OutboxRow): Promise<ApprovalPayload | undefined> {
  const payload = JSON.parse(item.payload) as ApprovalPayload | PayloadBeforeRequests;
  if ('requestId' in payload) return payload;
  const [invitation] = await deps.invites.getMany([payload.invitationId]);
  const requestId = invitation?.approval?.requestId;
  if (!requestId) return undefined;
  return payload.op === 'post' ? { op: 'post', requestId, recipient: payload.recipient } : redrawPayload(requestId);
}

/**
 * Whether a redraw of the same request queued after this one still waits: it reads everything this
 * one would, so of decisions made one after another (a script approving a request's invitations
 * one by one) each request is redrawn once per turn, not once per decision.
 */
async function laterRedrawWaits(deps: ApprovalMessageDeps, item: OutboxRow, requestId: string): Promise<boolean> {
  const later = await deps.db('outbox')
    .where({ kind: SLACK_APPROVAL, state: 'pending', payload: JSON.stringify(redrawPayload(requestId)) })
    .andWhere('id', '>', item.id)
    .first('id');
  return later !== undefined;
}

/** Every posted copy of a request: approval_messages holds those posted before requests were kept (keyed by the invitation, its own request). */
async function postedCopies(deps: ApprovalMessageDeps, requestId: string, channels?: readonly string[]): Promise<Array<{ channel: string; ts: string }>> {
  const [copies, earlier] = await Promise.all([
    deps.db('approval_request_messages').where({ request_id: requestId }).orderBy('channel').select('channel', 'ts'),
    deps.db('approval_messages').where({ invitation_id: requestId }).orderBy('channel').select('channel', 'ts'),
  ]);
  const all = [...(copies as Array<{ channel: string; ts: string }>), ...(earlier as Array<{ channel: string; ts: string }>)];
  return channels ? all.filter((copy) => channels.includes(copy.channel)) : all;
}

async function updateOne(client: webApi.WebClient, channel: string, ts: string, message: { text: string; blocks: unknown[] }): Promise<void> {
  await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never });
}
