import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { Role } from '../members/roles.js';
import { InvitationRevoked, NotFound } from '../shared/errors.js';
import { MembersService, type Member } from '../members/service.js';
import type { Actor } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { acceptedByToken, acceptInvitation, lookupToken, type AcceptInput } from './accept.js';
import { invitationRow, type InvitesContext } from './context.js';
import type { InviteChoices } from './choices.js';
import { inviteMany, type InviteManyInput, type InviteManyOptions } from './invite-many.js';
import { closeForNewMember, copyLink, inviteOne, resend, revoke, renew, renewAll, setInvitationRole } from './lifecycle.js';
import { countByStatus, deliveryProgress, invitationsByIds, listAll, listInvitations, listPage, type DeliveryProgress, type ListPage, type ListQuery, type StatusCounts } from './list.js';
import { toInvitation, type Invitation, type InvitationRow, type InviteSummary } from './model.js';
import { findListImport, listImportState, type ListImportState } from './import-state.js';
import { cancelReviewedImport, dropListImport, giveUpStaleImports, holdImport, markSummaryShown, sendReviewedImport, showImportIn, takeOverStalledImport, type GivenUpImport, type ImportRun } from './import-runs.js';
import { createFileImport, createListImport, fillListImport, reviewListImport, storeNextBatch, type FileImportInput, type ListImportInput } from './list-import.js';
import type { ListFile } from './list-file.js';
import { dismissRenewalRequest, renewalRequest, requestRenewal, type RenewalRequest } from './renewal-requests.js';
import { reviewList, type ListReview } from './review.js';
import { InviteLinks } from './tokens.js';
import { NO_EVENTS, type EventSink } from '../events/events.js';
import { requestRows } from './approvals.js';
import { approve, approveRequest, deny, denyRequest, type RequestDecision } from './decisions.js';
import { lapseDueRequests } from './lapses.js';
import { DEFAULT_POLICY, type InvitePolicy } from './policy.js';

export type { DeliveryProgress, ListPage, ListQuery, StatusCounts } from './list.js';
export type { SortKey, StatusFilter } from './list.js';
export { INVITE_EMAIL, type InviteEmailPayload } from './sending.js';
export { ANALYZE_AFTER, NEW_INVITATION_COLUMNS, type NewInvitationRow } from './invite-many.js';
export { MAX_PAGE } from './list.js';

export interface InvitesSettings {
  appSecret: string;
  publicUrl: string;
  inviteTtlMs: number;
  /** The rule "Policy" (allowed domains, daily limit); default: every domain, 500 a day. */
  policy?: InvitePolicy;
  /** Where a failed ANALYZE after a large list is reported (it fails nothing). */
  logger?: Pick<Logger, 'warn'>;
  /** Where changes queue their events (webhooks); none when omitted. */
  events?: EventSink;
  /** Accepting creates members through this service (one is made on the same database when omitted). */
  members?: MembersService;
  /** After a transaction queued work (mail, notices), so a worker in this process starts at once. */
  onQueued?: () => void;
  /** Inside the accepting transaction: what other parts add to an acceptance (Slack notices). */
  onAccepted?: InvitesContext['onAccepted'];
  /** Inside the transaction recording a renewal request: who is told (Slack notices). */
  onRenewalRequested?: InvitesContext['onRenewalRequested'];
  /** Inside the transaction holding invitations for approval: whom to ask (Slack messages). */
  onApprovalRequested?: InvitesContext['onApprovalRequested'];
  /** Inside the transaction of an approval, denial, lapse or withdrawal: whom to tell (Slack messages). */
  onApprovalDecided?: InvitesContext['onApprovalDecided'];
}

/**
 * The invitations aggregate, one method per thing people do with invitations. Each lives in its
 * own module (invite-many, list, lifecycle, accept); this class holds what they share.
 */
export class InvitesService {
  private readonly ctx: InvitesContext;

  constructor(db: Db, clock: Clock, settings: InvitesSettings) {
    this.ctx = {
      db,
      clock,
      links: new InviteLinks(settings.appSecret, settings.publicUrl),
      members: settings.members ?? new MembersService(db, clock, settings.events),
      inviteTtlMs: settings.inviteTtlMs,
      policy: settings.policy ?? DEFAULT_POLICY,
      logger: settings.logger,
      events: settings.events ?? NO_EVENTS,
      onQueued: settings.onQueued ?? (() => undefined),
      onAccepted: settings.onAccepted,
      onRenewalRequested: settings.onRenewalRequested,
      onApprovalRequested: settings.onApprovalRequested,
      onApprovalDecided: settings.onApprovalDecided,
    };
  }

  get links(): InviteLinks {
    return this.ctx.links;
  }

  /** The accept link for the invitation's current token. */
  linkFor(row: Pick<InvitationRow, 'token_nonce'>): string {
    return this.ctx.links.linkFor(row);
  }

  inviteMany(input: InviteManyInput, options?: InviteManyOptions): Promise<InviteSummary> {
    return inviteMany(this.ctx, input, options);
  }

  inviteOne(input: { email: string; role: Role; actor: Actor; inviterName?: string | null } & InviteChoices) {
    return inviteOne(this.ctx, input);
  }

  async get(id: string): Promise<Invitation> {
    return toInvitation(await invitationRow(this.ctx.db, id), this.ctx.clock.now());
  }

  getMany(ids: readonly string[]): Promise<Invitation[]> {
    return invitationsByIds(this.ctx, ids);
  }

  list(query: ListQuery = {}): Promise<ListPage> {
    return listPage(this.ctx, query);
  }

  /** Every invitation the query matches, up to `max` (the admin API's list without a limit), and how many match. */
  listAll(query: Omit<ListQuery, 'limit' | 'cursor'>, max: number): Promise<{ invitations: Invitation[]; total: number }> {
    return listAll(this.ctx, query, max);
  }

  /** A page and the counts per status, read together (what the Invitations table and App Home show). */
  listWithCounts(query: ListQuery = {}): Promise<ListPage & { counts: StatusCounts }> {
    return listInvitations(this.ctx, query);
  }

  counts(): Promise<StatusCounts> {
    return countByStatus(this.ctx);
  }

  deliveryProgress(invitationIds: readonly string[]): Promise<DeliveryProgress> {
    return deliveryProgress(this.ctx, invitationIds);
  }

  resend(id: string, actor: Actor, options: { orRenew?: boolean } = {}): Promise<Invitation> {
    return resend(this.ctx, id, actor, options);
  }

  renew(id: string, actor: Actor): Promise<Invitation> {
    return renew(this.ctx, id, actor);
  }

  renewAll(ids: readonly string[], actor: Actor) {
    return renewAll(this.ctx, ids, actor);
  }

  /** An address made a member directly: its open invitation closed (see closeForNewMember). */
  closeForNewMember(email: string, actor: Actor) {
    return closeForNewMember(this.ctx, email, actor);
  }

  /** Revoke; with `unlessSentAfter`, an open invitation sent again since then is refused (SentAgainSinceShown). */
  revoke(id: string, actor: Actor, options: { unlessSentAfter?: number } = {}): Promise<Invitation> {
    return revoke(this.ctx, id, actor, options);
  }

  /**
   * Revoke, where asking again is no error (the admin API's second delete, a cleanup script run
   * twice); `changed` says whether this call revoked it. An accepted invitation is still refused.
   */
  async revokeIfOpen(id: string, actor: Actor, options: { unlessSentAfter?: number } = {}): Promise<{ invitation: Invitation; changed: boolean }> {
    try {
      const invitation = await revoke(this.ctx, id, actor, options);
      return { invitation, changed: invitation.status === 'revoked' };
    } catch (error) {
      if (!(error instanceof InvitationRevoked)) throw error;
      return { invitation: await this.get(id), changed: false };
    }
  }

  copyLink(id: string): Promise<{ invitation: Invitation; link: string }> {
    return copyLink(this.ctx, id);
  }

  setRole(id: string, role: Role, actor: Actor): Promise<Invitation> {
    return setInvitationRole(this.ctx, id, role, actor);
  }

  /** What inviting a list would do, before anything is sent. */
  review(entries: string | readonly string[]): Promise<ListReview> {
    return reviewList(this.ctx, entries);
  }

  lookupToken(token: unknown): Promise<Invitation> {
    return lookupToken(this.ctx, token);
  }

  acceptedByToken(token: unknown): Promise<Invitation | undefined> {
    return acceptedByToken(this.ctx, token);
  }

  accept(input: AcceptInput): Promise<{ member: Member; invitation: Invitation }> {
    return acceptInvitation(this.ctx, input);
  }

  /** A list from a file, stored batch by batch (storeNextBatch) so a restart goes on where it stopped. */
  createListImport(input: ListImportInput): Promise<ImportRun> {
    return createListImport(this.ctx, input);
  }

  /** A Slack import, stored before its file is downloaded; fillListImport stores the list once read. */
  createFileImport(input: FileImportInput): Promise<ImportRun> {
    return createFileImport(this.ctx, input);
  }

  holdImport(run: ImportRun): Promise<void> {
    return holdImport(this.ctx, run);
  }

  showImportIn(run: ImportRun, dm: { channel: string; ts: string }): Promise<void> {
    return showImportIn(this.ctx, run, dm);
  }

  fillListImport(run: ImportRun, file: ListFile, options: { review?: boolean } = {}): Promise<ListImportState> {
    return fillListImport(this.ctx, run, file, options);
  }

  reviewListImport(id: string, file: ListFile): ReturnType<typeof reviewListImport> {
    return reviewListImport(this.ctx, id, file);
  }

  sendReviewedImport(id: string): Promise<ImportRun | undefined> {
    return sendReviewedImport(this.ctx, id);
  }

  cancelReviewedImport(id: string): Promise<boolean> {
    return cancelReviewedImport(this.ctx, id);
  }

  dropListImport(run: ImportRun): Promise<void> {
    return dropListImport(this.ctx, run);
  }

  markSummaryShown(run: ImportRun): Promise<void> {
    return markSummaryShown(this.ctx, run);
  }

  storeNextBatch(run: ImportRun): Promise<ListImportState> {
    return storeNextBatch(this.ctx, run);
  }

  findListImport(importId: string): Promise<ListImportState | undefined> {
    return findListImport(this.ctx, importId);
  }

  listImportState(importId: string): Promise<ListImportState> {
    return listImportState(this.ctx, importId);
  }

  takeOverStalledImport(running: readonly string[] = []): Promise<ImportRun | undefined> {
    return takeOverStalledImport(this.ctx, running);
  }

  giveUpStaleImports(): Promise<GivenUpImport[]> {
    return giveUpStaleImports(this.ctx);
  }

  /** Whether someone holding an expired link can ask for a new invitation (someone is there to be told). */
  get takesRenewalRequests(): boolean {
    return this.ctx.onRenewalRequested !== undefined;
  }

  requestRenewal(token: unknown): Promise<boolean> {
    return requestRenewal(this.ctx, token);
  }

  renewalRequest(id: string): Promise<RenewalRequest | undefined> {
    return renewalRequest(this.ctx, id);
  }

  dismissRenewalRequest(id: string, actor: Actor): Promise<boolean> {
    return dismissRenewalRequest(this.ctx, id, actor);
  }

  get policy(): InvitePolicy {
    return this.ctx.policy;
  }

  /** Approves an invitation held by the rule "Policy": its email goes out (the doors check `invite:approve`). */
  approve(id: string, actor: Actor, heldUpTo?: number): Promise<Invitation> {
    return approve(this.ctx, id, actor, heldUpTo);
  }

  /** Denies an invitation held by the rule "Policy", with a reason the requester reads; nothing is sent. */
  deny(id: string, actor: Actor, reason: string, heldUpTo?: number): Promise<Invitation> {
    return deny(this.ctx, id, actor, reason, heldUpTo);
  }

  /** Approves every invitation of an approval request that still waits (one inviting action's), of those held up to `heldUpTo` when given. */
  approveRequest(requestId: string, actor: Actor, heldUpTo?: number): Promise<RequestDecision> {
    return approveRequest(this.ctx, requestId, actor, heldUpTo);
  }

  /** Denies every invitation of an approval request that still waits, with one reason (of those held up to `heldUpTo` when given). */
  denyRequest(requestId: string, actor: Actor, reason: string, heldUpTo?: number): Promise<RequestDecision> {
    return denyRequest(this.ctx, requestId, actor, reason, heldUpTo);
  }

  /** The invitations of an approval request, in the order they were asked for; none for a request that is gone (or never was). */
  async approvalRequest(requestId: string): Promise<Invitation[]> {
    const now = this.ctx.clock.now();
    try {
      return (await requestRows(this.ctx.db, requestId)).map((row) => toInvitation(row, now));
    } catch (error) {
      if (error instanceof NotFound) return [];
      throw error;
    }
  }

  /** Closes requests nobody decided within INVITE_TTL (the expiry sweep calls this). */
  lapseDueRequests(): Promise<number> {
    return lapseDueRequests(this.ctx);
  }
}
