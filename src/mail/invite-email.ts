import type { Db, Trx } from '../db/index.js';
import type { InvitationRow } from '../invites/model.js';
import { shownStatus } from '../invites/model.js';
import { INVITE_EMAIL, LINK_REPLACED, type InviteEmailPayload } from '../invites/sending.js';
import type { InviteLinks } from '../invites/tokens.js';
import type { OutboxRow } from '../outbox/outbox.js';
import type { RecordedOutcome } from '../outbox/claims.js';
import type { DeliveryOutcome, OutboxHandler } from '../outbox/handler.js';
import { OutageHold, RetryLater, StopGrace } from '../outbox/retry.js';
import type { Clock } from '../shared/clock.js';
import { describeError } from '../shared/errors.js';
import { deliveryStateAfter, recordDelivery, updateDeliveryState } from './delivery-state.js';
import type { MailPace } from './pace.js';
import { invitationEmail } from './templates.js';
import type { MailTransport } from './transport.js';
import { invitationEvent, type EventSink } from '../events/events.js';

export interface InviteEmailSettings {
  mailFrom: string;
  orgName: string;
  /** MAIL_RATE, shared by every instance; unset: as fast as the server takes them. */
  pace?: MailPace;
  /** In the transaction that records a refusal (5xx): what else a refusal sets off (the inviter's DM). */
  onRefused?(trx: Trx, invitation: InvitationRow, reason: string): Promise<void>;
  /** Where `invite.delivery_failed` goes (webhooks): once when an invitation's email starts failing, once when it is refused. */
  events?: EventSink;
}

/**
 * How relays word "I will not take mail from you" (Postfix, Exim, Sendmail, Exchange; Doorman's host
 * refused or on a blocklist), not a recipient's refusal.
 */
const RELAY_DENIED = /relay(ing)? (access )?(denied|not permitted|prohibited)|unable to relay|not permitted to relay|we do not relay|client host rejected|(client host|sender address|helo command) \[[^\]]*\] blocked using/i;
/**
 * How servers word "you may not send as this sender" (Exchange Online's SendAsDenied, 5.7.60, an
 * account that does not own MAIL_FROM): Doorman's setup, refused for every recipient alike.
 */
const SENDER_REFUSED = /\bSendAsDenied|not (allowed|permitted) to send as|permissions? to send as|\b5\.2\.252\b|\b5\.7\.(57|60)\b|sender address rejected|address is not verified|identities failed the check/i;
/**
 * How providers word "this account may send no more for now" (Gmail's 5.4.5 daily limit, Exchange
 * Online's SubmissionQuotaExceeded, a suspended sending account): every email alike until it lifts,
 * so none is marked refused. A recipient's mailbox "over quota" (5.2.2) or "account disabled" is the
 * recipient's.
 */
const SENDER_LIMITED = /sending (quota|limit)|submission ?quota|daily message quota|\b5\.4\.5\b|sending (has been |is )?(suspended|paused|disabled)/i;
/** An account suspended or disabled: the sender's, unless the answer names the recipient's address (then their mailbox). */
const ACCOUNT_LIMITED = /(your|sender'?s?|sending|this) account (has been |is )?(suspended|disabled)/i;
/** "Account suspended" after the message (DATA) is the sender's; at RCPT TO it may be the recipient's mailbox. */
const ACCOUNT_SUSPENDED = /\baccount (has been |is )?suspended/i;
/**
 * A 4xx that means "not now, slow down" (a rate or connection limit, throttling, greylisting, "try
 * again later"; 421 always): every email waits it out, and none is shown as failing. Any other 4xx
 * ("Domain not found", a full mailbox) is a failure retried with backoff, which admins see.
 */
const SLOW_DOWN_WORDS = /\brate\b|too (many|fast)|slow(ing)? down|throttl|try (again )?later|gr[ea]y ?list|concurrent connections/i;
/** A 4xx about one recipient's mailbox (4.2.x: full, or receiving too fast): that email waits, not the others. */
const MAILBOX_STATUS = /\b4\.2\.\d\b/;
/** A mailbox full ("4.2.2", however the words go on) is a failure admins see, not a slow-down. */
const MAILBOX_FULL = /\b4\.2\.2\b|mailbox (is )?full|over ?quota/i;
/** A wait for MAIL_RATE this short happens in place; a longer one goes back to the queue. */
const WAIT_IN_PLACE_MS = 2_000;
/** Why an email whose invitation was deleted is not sent. */
const GONE = 'the invitation no longer exists';
/** An email handed over longer than this after its invitation was read is read again first… */
const RECHECK_AFTER_MS = 100;
/** …this long before its moment. */
const RECHECK_LEAD_MS = 50;
/** Moments an email may miss (handed over too late for them) before it goes back to the queue. */
const MOMENTS_PER_DELIVERY = 3;
/** nodemailer's codes for a mail server that cannot be reached or used at all (EAUTH: its login refused), whoever the email is for. */
const SERVER_DOWN = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ETLS', 'EAUTH']);
/** After such a failure no email is tried for this long, doubling with each failed try after it, up to the most. */
const OUTAGE_HOLD_MS = 2_000;
const OUTAGE_HOLD_MAX_MS = 5 * 60_000;
/** On stop, how long an SMTP exchange under way may still take before it is cut (it stays queued). */
const STOP_GRACE_MS = 5_000;

/** What an email is built from. */
const EMAIL_COLUMNS = ['id', 'email', 'role', 'status', 'token_nonce', 'expires_at', 'invited_by_name', 'message'] as const;

/** A mail server's answer as nodemailer reports it. */
interface SmtpError {
  code?: string;
  responseCode?: number;
  command?: string;
  response?: string;
}

/**
 * Delivers queued invitation emails. The message is built at delivery time from the invitation
 * (the link is never stored), and an email whose link was replaced, revoked or used is dropped.
 * Mail goes out at the provider's pace (MAIL_RATE); a server asking to slow down is waited out;
 * a refusal for good (5xx to the recipient or the message) marks the invitation's delivery refused.
 */
export function inviteEmailHandler(db: Db, clock: Clock, links: InviteLinks, transport: MailTransport, settings: InviteEmailSettings): OutboxHandler {
  // MAIL_FROM's own address: its domain names each Message-ID, and a refusal naming it (and not the recipient) is the sender's.
  const fromAddress = (/<([^>]+)>\s*$/.exec(settings.mailFrom)?.[1] ?? settings.mailFrom).trim().toLowerCase();
  const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1) || 'doorman.local';
  const setsOffMore = (outcome: RecordedOutcome, now: number): boolean => {
    if (outcome.result === 'refused' && settings.onRefused) return true;
    return announcesFailure(deliveryStateAfter(outcome)?.delivery_state, settings, now);
  };
  // A stop cuts an exchange a stalled server holds past the grace (SMTP_TIMEOUT may be longer than a stop may take).
  const stop = new StopGrace(STOP_GRACE_MS);
  // The mail server unreachable: emails wait, and a few are tried now and then.
  const outage = new OutageHold(clock, OUTAGE_HOLD_MS, OUTAGE_HOLD_MAX_MS);
  let heldFor = '';
  /** Holds every email (doubling while it lasts); answers the wait. */
  const holdAll = (why: string): number => {
    heldFor = why;
    return outage.failed().waitMs;
  };
  const serverDown = () => holdAll('waiting for the mail server, which could not be reached');
  // Every email waits it out (asking again at once would only prolong it), none shown as failing.
  const slowDown = (words: string) => new RetryLater(`the mail server asked to slow down: ${words}`, holdAll(`waiting: the mail server asked to slow down (${words})`), true);
  return {
    kind: INVITE_EMAIL,
    interrupt: () => stop.interrupt(),
    heldUntil: () => outage.until(),
    async deliver(item: OutboxRow): Promise<DeliveryOutcome> {
      // Claimed with a batch before the server was found unreachable: it waits with the rest.
      const held = outage.left();
      if (held !== undefined) throw new RetryLater(heldFor, held, true);
      const payload = JSON.parse(item.payload) as InviteEmailPayload;
      const read = () => db<InvitationRow>('invitations').where({ id: payload.invitationId }).first(...EMAIL_COLUMNS);
      const row = await read();
      if (!row) return { result: 'cancelled', reason: GONE };
      let readAt = clock.now();
      const unsendable = whyNotSend(row, payload, readAt);
      if (unsendable) return { result: 'cancelled', reason: unsendable };
      const link = links.linkFor(row);
      const email = invitationEmail({
        orgName: settings.orgName,
        inviterName: row.invited_by_name,
        email: row.email,
        role: row.role,
        link,
        expiresAt: Number(row.expires_at),
        now: readAt,
        reason: payload.reason,
        message: row.message,
      });
      // The pace's moment is taken last, with the message ready: it is handed over the moment it comes.
      if (settings.pace) {
        const moment = await settings.pace.next(WAIT_IN_PLACE_MS, {
          maxMoments: MOMENTS_PER_DELIVERY,
          // Handed over well after the read: read again just before the moment, so a revoke (or a
          // newer link) meanwhile still stops the email, and the read's own delay falls before the moment.
          beforeMoment: {
            leadMs: RECHECK_LEAD_MS,
            run: async (atMs) => {
              if (atMs - readAt <= RECHECK_AFTER_MS) return undefined;
              const again = await read();
              readAt = clock.now();
              return again ? whyNotSend(again, payload, readAt) : GONE;
            },
          },
        });
        if ('stopped' in moment) return { result: 'cancelled', reason: moment.stopped };
        // Too late for its moments (a busy process or database): never a late hand-over, back to the queue.
        if ('late' in moment) throw new RetryLater('too busy to hand the email over at its MAIL_RATE moment', 1_000, true);
        if (!moment.ok) throw new RetryLater('waiting for MAIL_RATE', moment.waitMs, true);
      }
      stop.refuseIfStopping();
      try {
        await transport.send({ from: settings.mailFrom, to: row.email, ...email, messageId: `<${row.id}.${item.id}@${domain}>`, link, signal: stop.signal });
      } catch (error) {
        stop.throwIfCut();
        const smtp = error as SmtpError;
        const words = (smtp.response ?? describeError(error)).replace(/\s+/g, ' ').slice(0, 300);
        const code = smtp.responseCode ?? 0;
        const namesRecipient = words.toLowerCase().includes(row.email.toLowerCase());
        const namesSender = !namesRecipient && fromAddress.includes('@') && words.toLowerCase().includes(fromAddress);
        // A 421 closes the connection (nodemailer may then also report a connection error): "not now", not an outage.
        if (code === 421) throw slowDown(words);
        // What holds every email alike, until the operator or the network mends it, holds them all
        // (tried again when the hold ends, which stands in for each email's own backoff):
        // - the server cannot be reached or used at all (a refused connection, DNS, TLS, a login refused);
        if (SERVER_DOWN.has(smtp.code ?? '')) throw new RetryLater(describeError(error), serverDown(), false, true);
        // - "554 5.7.1 Relay access denied": it will not take mail from Doorman at all (credentials,
        //   allowed senders); the operator's to fix, not the invitee's address, so never marked refused;
        if (code >= 500 && smtp.command === 'RCPT TO' && RELAY_DENIED.test(words)) throw new RetryLater(`the mail server refuses to relay for Doorman (check SMTP_URL and its account): ${words}`, serverDown(), false, true);
        // - it refuses the sender (now or for good), which some servers say only after the message
        //   (DATA), some only by naming MAIL_FROM's address (Amazon SES's "not verified");
        if (code >= 400 && ((SENDER_REFUSED.test(words) && !namesRecipient) || (code >= 500 && namesSender))) throw new RetryLater(`the mail server refuses Doorman's sender (check MAIL_FROM and the SMTP_URL account's right to send as it): ${words}`, serverDown(), false, true);
        // - the account may send no more for now (a daily quota, a suspension); an account disabled or
        //   suspended in words naming the recipient's address is their mailbox (Yahoo's "your message to
        //   … This account has been disabled").
        const accountLimited = !namesRecipient && (ACCOUNT_LIMITED.test(words) || (smtp.command !== 'RCPT TO' && ACCOUNT_SUSPENDED.test(words)));
        if (code >= 400 && (SENDER_LIMITED.test(words) || (code >= 500 && accountLimited))) throw new RetryLater(`the mail server refuses to send more for Doorman's account for now (a sending quota or a suspension): ${words}`, serverDown(), false, true);
        // - it asks Doorman to slow down: for everything, or (naming the recipient, or a 4.2.x) for this mailbox alone.
        if (code >= 400 && code < 500 && SLOW_DOWN_WORDS.test(words) && !MAILBOX_FULL.test(words)) {
          if (namesRecipient || MAILBOX_STATUS.test(words)) throw new RetryLater(`the mail server asked to slow down for this mailbox: ${words}`, undefined, true);
          throw slowDown(words);
        }
        // Otherwise the server answered: it is up.
        outage.ended();
        if (code >= 500 && (smtp.command === 'RCPT TO' || smtp.command === 'DATA')) return { result: 'refused', reason: words };
        throw error;
      }
      outage.ended();
      return { result: 'done' };
    },
    // An outcome that may set off more — the inviter's DM on a refusal, a delivery_failed webhook —
    // is recorded with it in the worker's transaction; any other in one statement of its own.
    record: (item, outcome, now) => (setsOffMore(outcome, now) ? Promise.resolve(undefined) : recordDelivery(db, item, outcome, now)),
    recordOutcome: (trx, item, outcome) => recordDeliveryState(trx, item, outcome, settings, clock.now()),
  };
}

/** Why an invitation's queued email must not go out (any more); undefined when it may. */
function whyNotSend(row: Pick<InvitationRow, 'status' | 'expires_at' | 'token_nonce'>, payload: InviteEmailPayload, now: number): string | undefined {
  const status = shownStatus(row, now);
  if (status !== 'pending') return `the invitation is ${status}`;
  if (row.token_nonce !== payload.nonce) return LINK_REPLACED;
  return undefined;
}

/** Whether this delivery state is one webhook receivers hear of (failing or refused), with someone listening. */
function announcesFailure(state: string | undefined, settings: Pick<InviteEmailSettings, 'events'>, now: number): boolean {
  return (state === 'failing' || state === 'refused') && !!settings.events && !settings.events.quiet(now);
}

/**
 * The invitation's delivery state after its email's outcome, in the worker's transaction, with the
 * webhook and the DM a failure sets off. Only the newest queued email speaks for its invitation, and
 * an email the server already accepted stays "sent".
 */
async function recordDeliveryState(trx: Trx, item: OutboxRow, outcome: RecordedOutcome, settings: Pick<InviteEmailSettings, 'onRefused' | 'events'>, now: number): Promise<void> {
  const state = deliveryStateAfter(outcome);
  if (!state || !item.invitation_id) return;
  // Read before the change only when someone listens: a webhook goes out when the state becomes failing or refused, not on every retry.
  const before = announcesFailure(state.delivery_state, settings, now) ? await trx<InvitationRow>('invitations').where({ id: item.invitation_id }).first() : undefined;
  const changed = await updateDeliveryState(trx, { ...item, invitation_id: item.invitation_id }, state);
  if (changed && before && before.delivery_state !== state.delivery_state) {
    const failure = state.delivery_state === 'refused' ? 'refused' : 'failing';
    await settings.events!.queueEvents(trx, now, [invitationEvent('invite.delivery_failed', before, null, { delivery: { state: failure, error: state.delivery_error ?? '' } })]);
  }
  if (outcome.result === 'refused' && changed && settings.onRefused) {
    const invitation = await trx<InvitationRow>('invitations').where({ id: item.invitation_id }).first();
    if (invitation) await settings.onRefused(trx, invitation, outcome.reason);
  }
}
