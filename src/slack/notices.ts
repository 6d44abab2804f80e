import { webApi } from '@slack/bolt';
import type { Db } from '../db/index.js';
import type { InvitesService } from '../invites/service.js';
import type { MembersService } from '../members/service.js';
import { displayName } from '../members/service.js';
import { SLACK_NOTICE, type NoticePayload } from '../notices/notices.js';
import type { OutboxRow } from '../outbox/outbox.js';
import { RetryLater, type DeliveryOutcome, type OutboxHandler } from '../outbox/worker.js';
import type { Clock } from '../shared/clock.js';
import { acceptedNotice, listNotice, NOTICE_ROWS } from './blocks/notices.js';
import type { Block } from './blocks/limits.js';

export interface NoticeDeps {
  db: Db;
  invites: InvitesService;
  members: MembersService;
  clock: Clock;
}

/** A queued notice by its outbox id (the id its buttons carry). */
export async function loadNotice(db: Db, noticeId: number): Promise<NoticePayload | undefined> {
  const row = await db<OutboxRow>('outbox').where({ id: noticeId, kind: SLACK_NOTICE }).first();
  return row ? (JSON.parse(row.payload) as NoticePayload) : undefined;
}

/** Draws a notice from the current state of what it is about (also after a click on it). */
export async function renderNotice(deps: NoticeDeps, noticeId: number, payload: NoticePayload, note?: string): Promise<{ text: string; blocks: Block[] } | undefined> {
  if (payload.notice === 'accepted') return renderAcceptedNote(deps, payload.memberId, note);
  // An expiry notice counts how many are still expired (for "Send new invitations to all"), so it
  // reads them all once; a reminder needs only the rows it shows.
  const ids = payload.notice === 'expired' ? payload.invitationIds : payload.invitationIds.slice(0, NOTICE_ROWS);
  const invitations = await deps.invites.getMany(ids);
  const stillExpired = payload.notice === 'expired' ? invitations.filter((i) => i.status === 'expired').length : 0;
  return listNotice({ noticeId, kind: payload.notice, invitations: invitations.slice(0, NOTICE_ROWS), total: payload.invitationIds.length, stillExpired, notice: note });
}

/** The acceptance note as the member is now (also after its role select was used). */
export async function renderAcceptedNote(deps: Pick<NoticeDeps, 'members'>, memberId: string, note?: string): Promise<{ text: string; blocks: Block[] } | undefined> {
  const member = await deps.members.get(memberId).catch(() => undefined);
  if (!member) return undefined;
  const name = displayName(member);
  return acceptedNotice({ email: member.email, role: member.role, memberId: member.id, memberName: name === member.email ? null : name, notice: note });
}

/** Slack answers that retrying cannot fix: the notice is dropped, with the reason kept. */
const PERMANENT = new Set(['channel_not_found', 'user_not_found', 'user_disabled', 'account_inactive', 'is_archived', 'invalid_blocks', 'msg_too_long', 'no_text', 'cannot_dm_bot', 'not_in_channel', 'restricted_action']);

/**
 * At most about one message per second to a channel (Slack's chat.postMessage limit). A message
 * told to wait gets a slot of its own, one gap after the last one handed out, and keeps it when it
 * comes back: a backlog for one recipient (a hundred acceptances, one bootstrap admin) goes out
 * one a second, each message tried about twice. Telling every waiting message "in a second"
 * instead had all of them come back at once and all but one wait again, every second: with 160
 * queued, ~13,000 tries and as many queries and outbox writes, CPU taken from the accepts that
 * caused them. A slot is a "not before": a message back after it (late, as the worker's polling and
 * other work make it) still waits for a gap after the channel's last post, and if it must, it takes
 * a new slot at the end of the line, so late messages never go out together.
 *
 * A 429 holds every channel of this instance until its Retry-After has passed: Slack limits
 * chat.postMessage per channel and per workspace, and a 429 does not say which limit it was (with
 * several instances, either can be reached). The slots already handed out move back by the hold,
 * so a backlog keeps its order and its gaps; the message that met the 429 goes first when the hold
 * ends, and messages asking meanwhile line up after the hold instead of each meeting a 429.
 */
export class ChannelPacer {
  /** Per channel: when a message was last let through. */
  private readonly posted = new Map<string, number>();
  /** Per channel: the latest slot handed out (or post let through). */
  private readonly last = new Map<string, number>();
  /** A waiting message's slot, by its key (the message's outbox id). */
  private readonly booked = new Map<string | number, number>();
  private prunedAt = -Infinity;
  /** Slack said to stop (a 429): no message to any channel before this. */
  private heldUntil = -Infinity;
  constructor(private readonly clock: Clock, private readonly gapMs = 1_000) {}

  /**
   * Slack answered 429 to the message `key` for `channel`: nothing goes out, to any channel, for `ms`
   * from now (a shorter hold does not cut a longer one). Slots already handed out move back by what
   * the hold adds; `key` gets the first slot of its channel after the hold.
   */
  rateLimited(channel: string, key: string | number, ms: number): void {
    const now = this.clock.now();
    const until = Math.max(this.heldUntil, now + ms);
    const added = until - Math.max(this.heldUntil, now);
    this.heldUntil = until;
    if (added > 0) {
      for (const [k, slot] of this.booked) this.booked.set(k, slot + added);
      for (const [c, at] of this.last) if (at > now) this.last.set(c, at + added);
    }
    this.booked.set(key, until);
    this.last.set(channel, Math.max(this.last.get(channel) ?? -Infinity, until));
  }

  /** Whether a 429's hold is still on. */
  holding(): boolean {
    return this.clock.now() < this.heldUntil;
  }

  /**
   * How long the message `key` must wait before it is posted to `channel`; 0 lets it through now.
   * A wait books a slot for `key`; the same key asking again waits for that slot only.
   */
  reserve(channel: string, key: string | number): number {
    const now = this.clock.now();
    const slot = this.booked.get(key);
    if (now < this.heldUntil) {
      // Held by a 429: a booked message keeps its slot (none comes before the hold ends); a new one
      // lines up after the hold, one gap after the last slot of its channel.
      if (slot !== undefined) return Math.max(slot, this.heldUntil) - now;
      return this.book(channel, key, Math.max(this.heldUntil, (this.last.get(channel) ?? -Infinity) + this.gapMs), now);
    }
    if (slot !== undefined && slot > now) return slot - now;
    if ((this.posted.get(channel) ?? -Infinity) + this.gapMs <= now) {
      if (slot !== undefined) this.booked.delete(key);
      this.posted.set(channel, now);
      this.last.set(channel, Math.max(this.last.get(channel) ?? -Infinity, now));
      return 0;
    }
    // The channel is not free yet: a slot at the end of the line (a late message's old one is spent).
    return this.book(channel, key, this.last.get(channel)! + this.gapMs, now);
  }

  private book(channel: string, key: string | number, slot: number, now: number): number {
    this.last.set(channel, slot);
    this.booked.set(key, slot);
    this.prune(now);
    return slot - now;
  }

  /** Slots of messages that never came back (dropped, or taken by another instance) are let go, once a minute at most. */
  private prune(now: number): void {
    if (now - this.prunedAt < 60_000 || this.booked.size + this.posted.size < 10_000) return;
    this.prunedAt = now;
    const old = now - 60_000;
    for (const [key, slot] of this.booked) if (slot < old) this.booked.delete(key);
    for (const [channel, at] of this.last) {
      if (at < old) {
        this.last.delete(channel);
        this.posted.delete(channel);
      }
    }
  }
}

/**
 * A Web API client for the outbox: it does not wait out 429s or retry by itself, so each failure
 * goes back to the outbox, which keeps the item across restarts and retries with backoff.
 */
export function noticeClient(token: string, apiUrl: string | undefined): webApi.WebClient {
  return new webApi.WebClient(token, {
    ...(apiUrl ? { slackApiUrl: apiUrl.replace(/\/*$/, '/') } : {}),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
  });
}

/** Delivers queued notices as DMs (chat.postMessage to a user id opens the DM). */
export function slackNoticeHandler(deps: NoticeDeps, client: webApi.WebClient, pacer: ChannelPacer): OutboxHandler {
  return {
    kind: SLACK_NOTICE,
    async deliver(item: OutboxRow): Promise<DeliveryOutcome> {
      const payload = JSON.parse(item.payload) as NoticePayload;
      const message = await renderNotice(deps, item.id, payload);
      if (!message) return { result: 'cancelled', reason: 'nothing left to tell' };
      const wait = pacer.reserve(payload.recipient, item.id);
      if (wait > 0) throw new RetryLater(pacer.holding() ? 'waiting out a 429 from Slack (Retry-After)' : `pacing messages to ${payload.recipient}`, wait, true);
      try {
        await client.chat.postMessage({ channel: payload.recipient, text: message.text, blocks: message.blocks as never, unfurl_links: false, unfurl_media: false });
      } catch (error) {
        const e = error as webApi.WebAPIRateLimitedError | webApi.WebAPIPlatformError;
        if (e.code === webApi.ErrorCode.RateLimitedError) {
          const waitMs = Math.max(1, (e as webApi.WebAPIRateLimitedError).retryAfter) * 1_000;
          pacer.rateLimited(payload.recipient, item.id, waitMs);
          throw new RetryLater('Slack rate limited (429)', waitMs);
        }
        if (e.code === webApi.ErrorCode.PlatformError && PERMANENT.has((e as webApi.WebAPIPlatformError).data?.error)) {
          return { result: 'cancelled', reason: `Slack refused it: ${(e as webApi.WebAPIPlatformError).data.error}` };
        }
        throw error;
      }
      return { result: 'done' };
    },
  };
}
