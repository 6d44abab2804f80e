import { randomBytes } from 'node:crypto';
import type { Db } from '../db/index.js';
import type { ListReview } from '../invites/review.js';
import type { Role } from '../members/roles.js';
import { DAY_MS, type Clock } from '../shared/clock.js';

/** A list submitted in the invite form and under review: what was typed and chosen, and what the review showed. */
export interface InviteDraft {
  /** The addresses as typed (a text input's value comes as typed), to go back to. */
  typed: string;
  /** Slack users picked in the form. */
  people: string[];
  role: Role;
  expiresInDays: number | null;
  message: string | null;
  review: ListReview;
  /** The picked people not looked up yet (their addresses join the review when they are). */
  peoplePending: boolean;
  /** The approval request the list's held addresses join, however many calls send it (absent in drafts saved before requests were kept). */
  approvalRequestId?: string;
  /** What a send that failed showed, for a redraw of the review that crosses it. */
  refusal?: string;
}

const KEPT_MS = DAY_MS;

/** How a review ended: the form drawn again, the list sent, or a send that failed (its refusal shown). */
export type DraftEnd = 'back' | 'sent' | 'failed';

/** Drafts by id, each readable only by the Slack user who made it. */
export class InviteDrafts {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  async save(slackUserId: string, draft: InviteDraft): Promise<string> {
    const id = `draft_${randomBytes(12).toString('base64url')}`;
    const now = this.clock.now();
    await this.db('invite_drafts').where('created_at', '<', now - KEPT_MS).delete();
    await this.db('invite_drafts').insert({ id, slack_user_id: slackUserId, body: JSON.stringify(draft), created_at: now });
    return id;
  }

  /** False when the review ended meanwhile (Back, or sent): then nothing should redraw it. */
  async update(id: string, draft: InviteDraft): Promise<boolean> {
    return (await this.db('invite_drafts').where({ id }).whereNull('ended').update({ body: JSON.stringify(draft) })) > 0;
  }

  /** A review still open: not ended, not too old, and the caller's. */
  async load(id: unknown, slackUserId: string): Promise<InviteDraft | undefined> {
    if (typeof id !== 'string' || !/^draft_[A-Za-z0-9_-]{16}$/.test(id)) return undefined;
    const row = (await this.db('invite_drafts').where({ id, slack_user_id: slackUserId }).whereNull('ended').first('body', 'created_at')) as { body: string; created_at: number | string } | undefined;
    if (!row || Number(row.created_at) < this.clock.now() - KEPT_MS) return undefined;
    return JSON.parse(row.body) as InviteDraft;
  }

  /** Ends the review (Back or Send); answers whether this call ended it (of two at once, one does). */
  async end(id: string, how: DraftEnd): Promise<boolean> {
    return (await this.db('invite_drafts').where({ id }).whereNull('ended').update({ ended: how })) > 0;
  }

  /** Opens again a review Back ended but could not draw the form for. */
  async reopen(id: string): Promise<void> {
    await this.db('invite_drafts').where({ id, ended: 'back' }).update({ ended: null });
  }

  /** Marks a sent review as failed, with the words its modal showed. */
  async failed(id: string, draft: InviteDraft, refusal: string): Promise<void> {
    await this.db('invite_drafts').where({ id, ended: 'sent' }).update({ ended: 'failed', body: JSON.stringify({ ...draft, refusal }) });
  }

  /** How the review ended, if it did, with a failed send's words. */
  async endedAs(id: string): Promise<{ how: DraftEnd; refusal?: string } | undefined> {
    const row = (await this.db('invite_drafts').where({ id }).first('ended', 'body')) as { ended: DraftEnd | null; body: string } | undefined;
    if (!row?.ended) return undefined;
    return { how: row.ended, refusal: row.ended === 'failed' ? (JSON.parse(row.body) as InviteDraft).refusal : undefined };
  }
}
