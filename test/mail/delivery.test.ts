import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { inviteEmailHandler } from '../../src/mail/invite-email.js';
import { MailPace } from '../../src/mail/pace.js';
import { formatDateInWords } from '../../src/mail/templates.js';
import { smtpTransport, type MailTransport } from '../../src/mail/transport.js';
import type { OutboxRow } from '../../src/outbox/outbox.js';
import { claimDue } from '../../src/outbox/claims.js';
import { OutboxWorker } from '../../src/outbox/worker.js';
import { INVITE_EMAIL } from '../../src/invites/sending.js';
import type { Actor } from '../../src/shared/actor.js';
import { systemClock } from '../../src/shared/clock.js';
import { createTestDatabase, DIALECTS, ManualClock, type TestDatabase } from '../support/db.js';
import { servicesFor, tempDataDir } from '../support/service.js';
import { eventually } from '../support/wait.js';
import { TestSmtpServer, type Fault } from '../support/smtp.js';

const OPERATOR: Actor = { type: 'system', name: 'test' };
const DAY = 86_400_000;

/** Runs the worker, moving the clock to each next retry, until nothing is left to deliver. */
async function deliverAll(s: Services, clock: ManualClock, worker: OutboxWorker = s.outbox, rounds = 25): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const pass = await worker.drain();
    const next = (await s.db('outbox').where({ state: 'pending' }).min({ at: 'next_attempt_at' }).first()) as { at: number | string | null } | undefined;
    if (next?.at === null || next?.at === undefined) return;
    // Due, yet nothing taken (the mail server's outage hold): the worker looks again a poll later.
    clock.current = pass.settled === 0 && Number(next.at) <= clock.current ? clock.current + 1_000 : Math.max(clock.current, Number(next.at));
  }
  throw new Error('the outbox did not empty');
}

async function outboxRows(s: Services): Promise<OutboxRow[]> {
  return s.db<OutboxRow>('outbox').orderBy('id');
}

describe.each(DIALECTS)('invitation email delivery (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let smtp: TestSmtpServer;
  let clock: ManualClock;
  let services: Services;
  const open: Services[] = [];

  const wire = () => {
    const s = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, SMTP_URL: smtp.url }, { clock });
    open.push(s);
    return s;
  };

  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    smtp = await TestSmtpServer.create();
    clock = new ManualClock();
    services = wire();
  });

  afterEach(async () => {
    for (const s of open.splice(0)) {
      s.mail.close();
      await s.db.destroy().catch(() => undefined);
    }
    await smtp.stop();
    await test.destroy();
    data.cleanup();
  });

  it('sends plain text and HTML naming the inviter and organization, with a working link and the expiry in words', async () => {
    const summary = await services.invites.inviteMany({ emails: 'Jane Doe <Jane@Example.io>', role: 'developer', actor: OPERATOR, inviterName: 'Ada Lovelace' });
    const id = summary.invitationIds[0]!;
    expect((await services.invites.get(id)).delivery).toEqual({ state: 'queued', error: null });

    await deliverAll(services, clock);

    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.envelope.to).toEqual(['jane@example.io']);
    expect(mail.to).toContain('jane@example.io');
    expect(mail.subject).toBe('Ada Lovelace invited you to join Acme Corp');
    expect(mail.messageId).toMatch(new RegExp(`^<${id}\\.\\d+@localhost>$`));
    expect(mail.text).toContain('Ada Lovelace invited you to join Acme Corp as Developer.');
    expect(mail.html).toMatch(/^<!doctype html>/i);
    expect(mail.html).toContain('Acme Corp');

    // The link works, and it is in both parts.
    expect(mail.link).toMatch(/^http:\/\/doorman\.test\/invite\?token=[A-Za-z0-9_-]{43,}$/);
    expect(mail.html).toContain(mail.link!);
    const invitation = await services.invites.lookupToken(mail.token);
    expect(invitation).toMatchObject({ id, email: 'jane@example.io', status: 'pending' });

    // The expiry, in words and relative.
    expect(formatDateInWords(invitation.expiresAt)).toBe('Sunday, 29 November 2026 at 09:00 UTC');
    expect(mail.text).toContain('expires on Sunday, 29 November 2026 at 09:00 UTC (7 days after this email was sent)');
    expect(mail.html).toContain('Sunday, 29 November 2026 at 09:00 UTC');

    expect((await services.invites.get(id)).delivery).toEqual({ state: 'sent', error: null });
  });

  it('an email sent again after a crash (sent, its outcome never recorded) has the same Message-ID, so the inbox shows it once', async () => {
    const { invitationIds } = await services.invites.inviteMany({ emails: 'twice@example.io', actor: OPERATOR });
    // The first process claims it and hands it over, then dies before recording the outcome.
    const [item] = await claimDue(services.db, { now: clock.now(), kinds: [INVITE_EMAIL], exclude: [], limit: 1, leaseMs: 60_000 });
    const transport = smtpTransport(smtp.url, { timeoutMs: 5_000 });
    try {
      const handler = inviteEmailHandler(services.db, clock, services.invites.links, transport, { mailFrom: services.config.mailFrom, orgName: services.config.orgName });
      expect(await handler.deliver(item!)).toEqual({ result: 'done' });
    } finally {
      transport.close();
    }
    // Its lease runs out; the next worker sends it again and records it.
    clock.advance(61_000);
    await deliverAll(services, clock);
    expect(smtp.received).toHaveLength(2);
    const [first, again] = smtp.received;
    expect(again!.messageId).toBe(first!.messageId);
    expect(first!.messageId).toBe(`<${invitationIds[0]}.${item!.id}@localhost>`);
    expect((await outboxRows(services))[0]).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('a resend emails the same link again as a separate message', async () => {
    const { invitationIds } = await services.invites.inviteMany({ emails: 'sam@example.io', actor: OPERATOR, inviterName: 'Ada' });
    await deliverAll(services, clock);
    clock.advance(DAY);
    await services.invites.resend(invitationIds[0]!, OPERATOR);
    await deliverAll(services, clock);

    expect(smtp.received).toHaveLength(2);
    const [first, second] = smtp.received;
    expect(second!.token).toBe(first!.token);
    expect(second!.messageId).not.toBe(first!.messageId);
    expect(second!.subject).toBe('Ada invited you to join Acme Corp (reminder)');
  });

  it('resends while the email still waits (SMTP down) try it again at once instead of adding another: one email once the server is back', async () => {
    await smtp.stop();
    const { invitationIds } = await services.invites.inviteMany({ emails: 'waiting@example.io', actor: OPERATOR, inviterName: 'Ada' });
    expect(await services.outbox.runOnce()).toBe(0);
    const [waiting] = await outboxRows(services);
    expect(Number(waiting!.next_attempt_at)).toBeGreaterThan(clock.now());
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      await services.invites.resend(invitationIds[0]!, OPERATOR);
    }
    expect((await outboxRows(services)).map((r) => [r.id, r.state, Number(r.next_attempt_at)])).toEqual([[waiting!.id, 'pending', clock.now()]]);
    await smtp.start();
    await deliverAll(services, clock);
    expect(smtp.received).toHaveLength(1);
    // The first email of the link, as it was queued.
    expect(smtp.received[0]!.subject).toBe('Ada invited you to join Acme Corp');
    expect((await services.invites.get(invitationIds[0]!)).delivery).toEqual({ state: 'sent', error: null });
    // Sent, a resend emails the link again.
    await services.invites.resend(invitationIds[0]!, OPERATOR);
    await deliverAll(services, clock);
    expect(smtp.received).toHaveLength(2);
  });

  it('a resend while the email is claimed by a worker (a batch waiting on a slow server, a MAIL_RATE queue) adds none: the invitee gets one', async () => {
    const { invitationIds } = await services.invites.inviteMany({ emails: 'claimed@example.io', actor: OPERATOR, inviterName: 'Ada' });
    const [claimed] = await claimDue(services.db, { now: clock.now(), kinds: [INVITE_EMAIL], exclude: [], limit: 50, leaseMs: 120_000 });
    expect(claimed).toBeDefined();
    clock.advance(10_000);
    await services.invites.resend(invitationIds[0]!, OPERATOR);
    expect((await outboxRows(services)).map((r) => r.id)).toEqual([claimed!.id]);
    // The worker that held it is gone (a crash): its lease runs out and the email goes once.
    clock.advance(120_000);
    await deliverAll(services, clock);
    expect(smtp.received).toHaveLength(1);
    expect((await services.invites.get(invitationIds[0]!)).delivery).toEqual({ state: 'sent', error: null });
  });

  it('a waiting email of an older link (queued before an approval gave a new one) is not what a resend hurries: the resend queues its own', async () => {
    await smtp.stop();
    const { invitationIds } = await services.invites.inviteMany({ emails: 'older@example.io', actor: OPERATOR });
    expect(await services.outbox.runOnce()).toBe(0);
    const [old] = await outboxRows(services);
    await services.db('outbox').where({ id: old!.id }).update({ payload: JSON.stringify({ ...JSON.parse(old!.payload), nonce: 'an-older-link' }) });
    await services.invites.resend(invitationIds[0]!, OPERATOR);
    expect((await outboxRows(services)).map((r) => JSON.parse(r.payload).reason)).toEqual(['invite', 'resend']);
    await smtp.start();
    await deliverAll(services, clock);
    expect(smtp.received).toHaveLength(1);
    expect((await services.invites.get(invitationIds[0]!)).delivery).toEqual({ state: 'sent', error: null });
  });

  it('an SMTP outage delays mail, shows it failing, and delivers each email exactly once afterwards', async () => {
    await smtp.stop();
    const { invitationIds } = await services.invites.inviteMany({ emails: 'a@example.io, b@example.io, c@example.io', actor: OPERATOR });
    expect(invitationIds).toHaveLength(3);

    // Down for a while: every try fails, the wait between tries grows.
    const waits: number[] = [];
    for (let round = 0; round < 4; round++) {
      expect(await services.outbox.runOnce()).toBe(0);
      const rows = await outboxRows(services);
      expect(rows.every((r) => r.state === 'pending' && r.attempts === round + 1 && r.locked_until === null)).toBe(true);
      waits.push(Number(rows[0]!.next_attempt_at) - clock.now());
      clock.current = Math.max(...rows.map((r) => Number(r.next_attempt_at)));
    }
    for (let i = 1; i < waits.length; i++) expect(waits[i]!).toBeGreaterThan(waits[i - 1]!);

    // Admins can see it failing, with the reason.
    for (const id of invitationIds) {
      const { delivery } = await services.invites.get(id);
      expect(delivery.state).toBe('failing');
      expect(delivery.error).toMatch(/ECONNREFUSED|connect/i);
    }
    expect(smtp.received).toHaveLength(0);

    await smtp.start();
    await deliverAll(services, clock);

    const counts = smtp.countByMessageId();
    expect(counts.size).toBe(3);
    expect([...counts.values()]).toEqual([1, 1, 1]);
    expect(new Set(smtp.received.map((m) => m.envelope.to[0]))).toEqual(new Set(['a@example.io', 'b@example.io', 'c@example.io']));
    for (const id of invitationIds) expect((await services.invites.get(id)).delivery).toEqual({ state: 'sent', error: null });
    expect((await outboxRows(services)).map((r) => r.state)).toEqual(['done', 'done', 'done']);
  });

  const transient: Array<[string, Fault]> = [
    ['a connection dropped mid-DATA', { kind: 'drop', times: 1 }],
    ['a 454 to RCPT TO (a temporary failure that is no "slow down")', { kind: 'reply', at: 'rcpt', code: 454, times: 1 }],
    // The relay refusing Doorman itself (its account, its allowed senders): not the invitee's fault.
    ['a 554 "Relay access denied" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 554, message: '5.7.1 <kim@example.io>: Relay access denied', times: 1 }],
    // Refusing Doorman's sender after the message (Exchange Online when MAIL_FROM is not the account's to use).
    ['a 554 SendAsDenied to DATA', { kind: 'reply', at: 'data', code: 554, message: '5.2.252 SendAsDenied; doorman@acme.test not allowed to send as no-reply@acme.test; STOREDRV.Submission.Exception:SendAsDeniedException', times: 1 }],
    ['a 550 5.7.60 to DATA', { kind: 'reply', at: 'data', code: 550, message: '5.7.60 SMTP; Client does not have permissions to send as this sender', times: 1 }],
    // The account's sending quota, or its sending suspended: every email alike, until it lifts.
    ['a 550 5.4.5 daily sending limit to DATA', { kind: 'reply', at: 'data', code: 550, message: '5.4.5 Daily user sending limit exceeded. For more information on sending limits, see the provider.', times: 1 }],
    ['a 554 SubmissionQuotaExceeded to DATA', { kind: 'reply', at: 'data', code: 554, message: '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception', times: 1 }],
    ['a 554 "Sending suspended" to DATA', { kind: 'reply', at: 'data', code: 554, message: 'Message rejected: Sending suspended for this account.', times: 1 }],
    ['a 550 "your account has been suspended" to DATA', { kind: 'reply', at: 'data', code: 550, message: '5.7.1 Your account has been suspended for sending spam', times: 1 }],
    ['a 554 "sender\'s account suspended" to DATA', { kind: 'reply', at: 'data', code: 554, message: "5.7.1 The sender's account has been suspended", times: 1 }],
    ['a 550 "Account suspended" to DATA', { kind: 'reply', at: 'data', code: 550, message: 'Account suspended', times: 1 }],
    // A relay's quota policy answering at RCPT TO, in words that name the recipient: still Doorman's quota.
    ['a 554 "sending quota exceeded" to RCPT TO, naming the recipient', { kind: 'reply', at: 'rcpt', code: 554, message: '5.7.1 <kim@example.io>: Recipient address rejected: sending quota exceeded', times: 1 }],
    // Amazon SES's daily quota, answered as a 454: the account's, not a "slow down" to retry at once.
    ['a 454 "Daily message quota exceeded" to DATA', { kind: 'reply', at: 'data', code: 454, message: 'Throttling failure: Daily message quota exceeded.', times: 1 }],
    // A 4xx that is no "slow down" is a failure admins see: the sender's domain (Postfix's reject_unknown_sender_domain)…
    ['a 450 "Sender address rejected: Domain not found" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 450, message: '4.1.8 <no-reply@localhost>: Sender address rejected: Domain not found', times: 1 }],
    // …or the recipient's (a typo in the domain, a full mailbox answered as temporary).
    ['a 450 "Recipient address rejected: Domain not found" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 450, message: '4.1.2 <kim@example.io>: Recipient address rejected: Domain not found', times: 1 }],
    ['a 452 "over quota" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 452, message: '4.2.2 The email account that you tried to reach is over quota', times: 1 }],
    ['a 452 "Mailbox full, try again later" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 452, message: '4.2.2 <kim@example.io>: Mailbox full, try again later', times: 1 }],
    // The sender not verified at Amazon SES (a first deployment): Doorman's setup, never the invitee's refusal.
    ['a 554 "Email address is not verified" naming the sender to DATA', { kind: 'reply', at: 'data', code: 554, message: 'Message rejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: no-reply@localhost', times: 1 }],
    ['a 554 naming only MAIL_FROM\'s address to DATA', { kind: 'reply', at: 'data', code: 554, message: '5.7.1 no-reply@localhost: unauthenticated sender', times: 1 }],
    // Doorman's host refused by the relay (Postfix's smtpd_client_restrictions, a blocklist).
    ['a 554 "Client host rejected" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 554, message: '5.7.1 <kim@example.io>: Client host rejected: Access denied', times: 1 }],
  ];
  it.each(transient)('after %s, the email shows failing and is delivered exactly once', async (_name, fault) => {
    smtp.fail(fault);
    const { invitationIds } = await services.invites.inviteMany({ emails: 'kim@example.io', actor: OPERATOR });
    await services.outbox.runOnce();
    const failing = await services.invites.get(invitationIds[0]!);
    expect(failing.delivery.state).toBe('failing');
    if (fault.kind === 'reply') expect(failing.delivery.error).toContain(String(fault.code));

    await deliverAll(services, clock);

    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.envelope.to).toEqual(['kim@example.io']);
    expect((await services.invites.get(invitationIds[0]!)).delivery).toEqual({ state: 'sent', error: null });
    const [row] = await outboxRows(services);
    expect(row).toMatchObject({ state: 'done', last_error: null });
    expect(row!.attempts).toBeGreaterThanOrEqual(2);
  });

  const slowDown: Array<[string, Fault]> = [
    ['451 "try again later" to DATA', { kind: 'reply', at: 'data', code: 451, times: 2 }],
    ['452 "too many recipients" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 452, message: '4.5.3 Too many recipients', times: 1 }],
    ['450 greylisted to RCPT TO', { kind: 'reply', at: 'rcpt', code: 450, message: '4.2.0 <kim@example.io>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/', times: 1 }],
    ['421 to RCPT TO', { kind: 'reply', at: 'rcpt', code: 421, times: 1 }],
    // Amazon SES's rate, and Microsoft 365's three connections per mailbox.
    ['454 "Maximum sending rate exceeded" to DATA', { kind: 'reply', at: 'data', code: 454, message: 'Throttling failure: Maximum sending rate exceeded.', times: 1 }],
    ['432 "Concurrent connections limit exceeded" to DATA', { kind: 'reply', at: 'data', code: 432, message: '4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.', times: 1 }],
  ];
  it.each(slowDown)('after %s ("slow down"), the email waits without counting as failing, then goes once', async (_name, fault) => {
    smtp.fail(fault);
    const { invitationIds } = await services.invites.inviteMany({ emails: 'kim@example.io', actor: OPERATOR });
    await services.outbox.runOnce();
    const waiting = await services.invites.get(invitationIds[0]!);
    expect(waiting.delivery.state).toBe('queued');
    expect(waiting.delivery.error).toMatch(new RegExp(`slow down( for this mailbox)?: ${fault.kind === 'reply' ? fault.code : ''}`));
    const [row] = await outboxRows(services);
    // The usual backoff (the first: 2 s ± 20%), without the delivery counting as failing.
    expect(Number(row!.next_attempt_at) - clock.now()).toBeGreaterThanOrEqual(1_600);
    expect(Number(row!.next_attempt_at) - clock.now()).toBeLessThanOrEqual(2_400);

    await deliverAll(services, clock);
    expect(smtp.received).toHaveLength(1);
    expect((await services.invites.get(invitationIds[0]!)).delivery).toEqual({ state: 'sent', error: null });
  });

  it('an email already failing stays failing while it waits to be let through ("slow down"), so an outage is not hidden as queued', async () => {
    smtp.fail({ kind: 'reply', at: 'rcpt', code: 454, times: 1 });
    const { invitationIds } = await services.invites.inviteMany({ emails: 'kim@example.io', actor: OPERATOR });
    await services.outbox.runOnce();
    expect((await services.invites.get(invitationIds[0]!)).delivery).toMatchObject({ state: 'failing', error: expect.stringContaining('454') });
    smtp.fail({ kind: 'reply', at: 'data', code: 451, times: 2 });
    clock.advance(60_000);
    await services.outbox.runOnce();
    expect((await outboxRows(services))[0]!.last_error).toContain('slow down: 451');
    expect((await services.invites.get(invitationIds[0]!)).delivery).toMatchObject({ state: 'failing', error: expect.stringContaining('454') });
    await deliverAll(services, clock);
    expect(smtp.received).toHaveLength(1);
    expect((await services.invites.get(invitationIds[0]!)).delivery).toEqual({ state: 'sent', error: null });
  });

  const refusals: Array<[string, Fault]> = [
    ['550 to RCPT TO', { kind: 'reply', at: 'rcpt', code: 550, message: 'No such user here', times: 1 }],
    ['554 to DATA', { kind: 'reply', at: 'data', code: 554, message: 'Message refused', times: 1 }],
    // A recipient's refusal that merely names a relay (the address, the host) is still the recipient's.
    ['550 to RCPT TO naming a relay host', { kind: 'reply', at: 'rcpt', code: 550, message: '5.1.1 <kim@mail-relay.example.io>: Recipient address rejected: User unknown in relay recipient table', times: 1 }],
    // …or an address that happens to hold the letters of a sender refusal.
    ['550 to RCPT TO for an address holding "sendas"', { kind: 'reply', at: 'rcpt', code: 550, message: '5.1.1 <alex.sendasky@example.io>: Recipient address rejected: User unknown', times: 1 }],
    // A full mailbox is the recipient's, though it speaks of a quota.
    ['552 5.2.2 mailbox over quota to RCPT TO', { kind: 'reply', at: 'rcpt', code: 552, message: '5.2.2 The email account that you tried to reach is over quota', times: 1 }],
    ['550 "account disabled" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 550, message: '5.2.1 <kim@example.io>: Recipient address rejected: Account disabled', times: 1 }],
    ['550 "account is disabled" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 550, message: 'Local mailbox kim@example.io is unavailable: account is disabled', times: 1 }],
    ['550 "account suspended" to RCPT TO (the recipient\'s mailbox)', { kind: 'reply', at: 'rcpt', code: 550, message: '5.2.1 <kim@example.io>: account suspended', times: 1 }],
    // After the message, naming the recipient (Yahoo's wording): their mailbox, not Doorman's account.
    ['554 "this account has been disabled" to DATA, naming the recipient', { kind: 'reply', at: 'data', code: 554, message: 'delivery error: dd Sorry, your message to Kim@example.io cannot be delivered. This account has been disabled or discontinued [#102].', times: 1 }],
    ['554 "account suspended" to DATA, naming the recipient', { kind: 'reply', at: 'data', code: 554, message: '5.2.1 kim@example.io: account suspended', times: 1 }],
    // The recipient's domain on a blocklist (Postfix's reject_rhsbl_recipient): theirs, not Doorman's host.
    ['554 "Recipient address [...] blocked using" to RCPT TO', { kind: 'reply', at: 'rcpt', code: 554, message: '5.7.1 Service unavailable; Recipient address [example.io] blocked using dbl.spamhaus.org', times: 1 }],
    // Amazon SES's sandbox naming the recipient as not verified: that address, not Doorman's sender.
    ['554 "Email address is not verified" naming the recipient to DATA', { kind: 'reply', at: 'data', code: 554, message: 'Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: kim@example.io', times: 1 }],
  ];
  it.each(refusals)('after %s, the delivery is refused for good, with the server\'s words, and never tried again', async (_name, fault) => {
    smtp.fail(fault);
    const { invitationIds } = await services.invites.inviteMany({ emails: 'kim@example.io', actor: OPERATOR });
    expect(await services.outbox.drain()).toMatchObject({ refused: 1, delivered: 0 });
    const refused = await services.invites.get(invitationIds[0]!);
    expect(refused.delivery.state).toBe('refused');
    expect(refused.delivery.error).toContain(String(fault.kind === 'reply' ? fault.code : ''));
    expect(refused.delivery.error).toContain(fault.kind === 'reply' ? fault.message! : '');
    clock.advance(DAY);
    expect(await services.outbox.drain()).toMatchObject({ settled: 0 });
    expect(smtp.received).toHaveLength(0);
    expect((await outboxRows(services))[0]).toMatchObject({ state: 'done' });
  });

  it('a hung server times out instead of stalling the worker, and the email goes out once it answers', async () => {
    // The worker's own wiring, with a short SMTP time limit (the service uses 30 s).
    const transport = smtpTransport(smtp.url, { timeoutMs: 400 });
    const worker = new OutboxWorker(services.db, clock, createLogger('silent'), [
      inviteEmailHandler(services.db, clock, services.invites.links, transport, { mailFrom: services.config.mailFrom, orgName: services.config.orgName }),
    ]);
    try {
      smtp.fail({ kind: 'hang', at: 'greeting', times: 1 }, { kind: 'hang', at: 'data', times: 1 });
      const { invitationIds } = await services.invites.inviteMany({ emails: 'lee@example.io', actor: OPERATOR });
      const started = Date.now();
      await worker.runOnce(); // greeting never comes
      await worker.runOnce(); // not due yet
      clock.advance(60_000);
      await worker.runOnce(); // DATA never answered
      expect(Date.now() - started).toBeLessThan(5_000);
      const failing = await services.invites.get(invitationIds[0]!);
      expect(failing.delivery.state).toBe('failing');
      expect(failing.delivery.error).toMatch(/timeout|timed out/i);
      expect(smtp.received).toHaveLength(0);

      smtp.clearFaults();
      await deliverAll(services, clock, worker);
      expect(smtp.received).toHaveLength(1);
      expect((await services.invites.get(invitationIds[0]!)).delivery.state).toBe('sent');
    } finally {
      transport.close();
    }
  });

  it('the mail server unreachable: a backlog is not tried email by email, but a few at a time, less and less often, then all once it is back', async () => {
    const transport = smtpTransport(smtp.url, { timeoutMs: 2_000 });
    let sends = 0;
    const counting = { ...transport, kind: transport.kind, send: (message: Parameters<typeof transport.send>[0]) => (sends++, transport.send(message)) };
    const worker = new OutboxWorker(services.db, clock, createLogger('silent'), [
      inviteEmailHandler(services.db, clock, services.invites.links, counting, { mailFrom: services.config.mailFrom, orgName: services.config.orgName }),
    ]);
    try {
      await smtp.stop();
      const { invitationIds } = await services.invites.inviteMany({ emails: Array.from({ length: 120 }, (_, i) => `down${i}@example.io`), actor: OPERATOR });
      // The first batch: the lanes' first tries fail (connection refused); the rest of it waits untried.
      await worker.drain();
      expect(sends).toBeGreaterThanOrEqual(1);
      expect(sends).toBeLessThanOrEqual(5);
      const tried = sends;
      expect((await services.invites.get(invitationIds[0]!)).delivery.state).toBe('failing');
      // Held for 2 s: nothing is claimed, so nothing is tried, however often the worker looks.
      for (let i = 0; i < 3; i++) await worker.drain();
      clock.advance(1_900);
      await worker.drain();
      expect(sends).toBe(tried);
      // Then a few again, and the next hold is twice as long.
      clock.advance(100);
      await worker.drain();
      expect(sends - tried).toBeGreaterThanOrEqual(1);
      expect(sends - tried).toBeLessThanOrEqual(5);
      const twice = sends;
      clock.advance(3_900);
      await worker.drain();
      expect(sends).toBe(twice);
      // Back: everything goes, once each.
      await smtp.start();
      clock.advance(100);
      await deliverAll(services, clock, worker);
      expect(smtp.received).toHaveLength(120);
      expect(new Set(smtp.received.map((m) => m.envelope.to[0])).size).toBe(120);
      expect((await services.invites.get(invitationIds[0]!)).delivery).toEqual({ state: 'sent', error: null });
    } finally {
      transport.close();
      await smtp.start();
    }
  });

  it('a "slow down" for one mailbox (Gmail\'s 4.2.1 receiving at a rate) puts off that email alone: the others go', async () => {
    smtp.fail({ kind: 'reply', at: 'rcpt', code: 450, message: '4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.', times: 1 });
    const { invitationIds } = await services.invites.inviteMany({ emails: 'busy@example.io, calm1@example.io, calm2@example.io', actor: OPERATOR });
    await services.outbox.drain();
    expect(smtp.received).toHaveLength(2);
    const states = await Promise.all(invitationIds.map(async (id) => (await services.invites.get(id)).delivery.state));
    expect(states.filter((state) => state === 'queued')).toHaveLength(1);
    expect((await outboxRows(services)).map((r) => r.last_error).filter(Boolean)).toEqual([expect.stringContaining('slow down for this mailbox: 4')]);
    await deliverAll(services, clock);
    expect(smtp.received).toHaveLength(3);
  });

  it('a "slow down" holds the whole backlog, not only the email it answered: the rest waits untried, shown queued, then goes once each', async () => {
    let sends = 0;
    const transport = smtpTransport(smtp.url, { timeoutMs: 2_000 });
    const counting = { ...transport, kind: transport.kind, send: (message: Parameters<typeof transport.send>[0]) => (sends++, transport.send(message)) };
    const worker = new OutboxWorker(services.db, clock, createLogger('silent'), [
      inviteEmailHandler(services.db, clock, services.invites.links, counting, { mailFrom: services.config.mailFrom, orgName: services.config.orgName }),
    ]);
    try {
      smtp.fail({ kind: 'reply', at: 'rcpt', code: 421, message: '4.7.0 Try again later, closing connection', times: 5 });
      const { invitationIds } = await services.invites.inviteMany({ emails: Array.from({ length: 60 }, (_, i) => `slow${i}@example.io`), actor: OPERATOR });
      await worker.drain();
      // The lanes' first tries (at most the worker's five at once) hear it; the rest of the backlog is not tried.
      expect(sends).toBeGreaterThanOrEqual(1);
      expect(sends).toBeLessThanOrEqual(5);
      const tried = sends;
      clock.advance(1_900);
      await worker.drain();
      expect(sends).toBe(tried);
      for (const id of invitationIds.slice(0, 10)) expect((await services.invites.get(id)).delivery.state).toBe('queued');
      smtp.clearFaults();
      clock.advance(100);
      await deliverAll(services, clock, worker);
      expect(smtp.received).toHaveLength(60);
      expect(new Set(smtp.received.map((m) => m.envelope.to[0])).size).toBe(60);
    } finally {
      transport.close();
    }
  });

  it('a login the mail server refuses (wrong SMTP_URL credentials) holds every email too, rather than trying each in turn', async () => {
    const url = new URL(smtp.url);
    url.username = 'doorman';
    url.password = 'wrong';
    const transport = smtpTransport(url.toString(), { timeoutMs: 2_000 });
    let sends = 0;
    const counting = { ...transport, kind: transport.kind, send: (message: Parameters<typeof transport.send>[0]) => (sends++, transport.send(message)) };
    const worker = new OutboxWorker(services.db, clock, createLogger('silent'), [
      inviteEmailHandler(services.db, clock, services.invites.links, counting, { mailFrom: services.config.mailFrom, orgName: services.config.orgName }),
    ]);
    try {
      const { invitationIds } = await services.invites.inviteMany({ emails: Array.from({ length: 30 }, (_, i) => `login${i}@example.io`), actor: OPERATOR });
      for (let i = 0; i < 3; i++) await worker.drain();
      expect(sends).toBeGreaterThanOrEqual(1);
      expect(sends).toBeLessThanOrEqual(5);
      const tried = await services.invites.get(invitationIds[0]!);
      expect(tried.delivery.state).toBe('failing');
      expect(smtp.received).toHaveLength(0);
    } finally {
      transport.close();
    }
  });

  it('a stop does not wait out a stalled server: the exchange is cut after a short grace, and the email stays queued', async () => {
    // SMTP_TIMEOUT longer than a stop may take (15 s).
    const transport = smtpTransport(smtp.url, { timeoutMs: 60_000 });
    const worker = new OutboxWorker(services.db, clock, createLogger('silent'), [
      inviteEmailHandler(services.db, clock, services.invites.links, transport, { mailFrom: services.config.mailFrom, orgName: services.config.orgName }),
    ]);
    try {
      smtp.fail({ kind: 'hang', at: 'data' });
      await services.invites.inviteMany({ emails: 'stalled@example.io', actor: OPERATOR });
      worker.start();
      await eventually(() => smtp.attempts >= 1, 10_000, 'the DATA the server stalls');
      const stopping = Date.now();
      await worker.stop();
      expect(Date.now() - stopping).toBeLessThan(15_000);
      const [row] = await outboxRows(services);
      expect(row).toMatchObject({ state: 'pending' });
      expect(Number(row!.next_attempt_at)).toBeLessThanOrEqual(clock.now());
      expect(smtp.received).toHaveLength(0);
    } finally {
      smtp.clearFaults();
      transport.close();
    }
  }, 30_000);

  it('an email queued before "send new invitation" is never sent with its dead link; the new one is', async () => {
    await smtp.stop();
    const { invitationIds } = await services.invites.inviteMany({ emails: 'old@example.io', actor: OPERATOR });
    const id = invitationIds[0]!;
    await services.outbox.runOnce(); // fails: SMTP is down
    clock.advance(8 * DAY); // expired while the email was still queued
    const renewed = await services.invites.renew(id, OPERATOR);
    expect(renewed.delivery.state).toBe('queued');

    await smtp.start();
    await deliverAll(services, clock);

    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.text).toContain('sent you a new invitation');
    expect((await services.invites.lookupToken(mail.token)).id).toBe(id);
    const rows = await outboxRows(services);
    expect(rows.map((r) => r.state)).toEqual(['cancelled', 'done']);
    expect(rows[0]!.last_error).toMatch(/newer invitation|expired/);
    expect((await services.invites.get(id)).delivery).toEqual({ state: 'sent', error: null });
  });

  it('a revoked invitation sends nothing, even when its email had already failed once', async () => {
    smtp.fail({ kind: 'reply', at: 'data', code: 451, times: 1 });
    const { invitationIds } = await services.invites.inviteMany({ emails: 'x@example.io, y@example.io', actor: OPERATOR });
    await services.outbox.runOnce();
    expect(smtp.received).toHaveLength(1); // one of the two got the 451
    const failed = (await outboxRows(services)).find((r) => r.state === 'pending')!;
    await services.invites.revoke(failed.invitation_id!, OPERATOR);
    const neverSent = (await services.invites.inviteMany({ emails: 'z@example.io', actor: OPERATOR })).invitationIds[0]!;
    await services.invites.revoke(neverSent, OPERATOR);

    await deliverAll(services, clock);
    clock.advance(DAY);
    await services.outbox.drain();

    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.envelope.to[0]).not.toBe((await services.invites.get(failed.invitation_id!)).email);
    const byInvitation = new Map((await outboxRows(services)).map((r) => [r.invitation_id, r.state]));
    expect(byInvitation.get(failed.invitation_id!)).toBe('cancelled');
    expect(byInvitation.get(neverSent)).toBe('cancelled');
    expect(invitationIds).toContain(failed.invitation_id);
  });

  it('an invitation that expires before its email could be delivered says so', async () => {
    smtp.fail({ kind: 'reply', at: 'data', code: 454, message: '4.3.0 Temporary system problem', times: 1 });
    const { invitationIds } = await services.invites.inviteMany({ emails: 'late@example.io', actor: OPERATOR });
    await services.outbox.runOnce();
    expect((await services.invites.get(invitationIds[0]!)).delivery.state).toBe('failing');
    clock.advance(8 * DAY);
    expect(await services.outbox.drain()).toMatchObject({ delivered: 0, cancelled: 1 });
    expect(smtp.received).toHaveLength(0);
    expect((await services.invites.get(invitationIds[0]!)).delivery).toEqual({ state: 'failing', error: 'not delivered before the invitation expired' });
  });

  it('mail queued before a restart is delivered once by the next process', async () => {
    await smtp.stop();
    const { invitationIds } = await services.invites.inviteMany({ emails: 'p@example.io; q@example.io; r@example.io', actor: OPERATOR });
    await services.outbox.runOnce(); // all fail
    // The process goes away: its mail transport and database connections close.
    services.mail.close();
    await services.db.destroy();

    await smtp.start();
    clock.advance(60_000);
    const next = wire();
    await deliverAll(next, clock);

    expect([...smtp.countByMessageId().values()]).toEqual([1, 1, 1]);
    expect(smtp.received.map((m) => m.envelope.to[0]).sort()).toEqual(['p@example.io', 'q@example.io', 'r@example.io']);
    for (const id of invitationIds) expect((await next.invites.get(id)).delivery.state).toBe('sent');
  });

  /** The service's worker and handler over the test SMTP server, with `beforeSend` run before each email goes out. */
  const workerWith = (beforeSend: (sent: number) => Promise<void> | void) => {
    const smtpOut = smtpTransport(smtp.url);
    let sent = 0;
    const transport: MailTransport = {
      kind: 'smtp',
      async send(message) {
        await beforeSend(++sent);
        await smtpOut.send(message);
      },
      close: () => smtpOut.close(),
    };
    const worker = new OutboxWorker(services.db, clock, createLogger('silent'), [
      inviteEmailHandler(services.db, clock, services.invites.links, transport, { mailFrom: services.config.mailFrom, orgName: services.config.orgName }),
    ]);
    return { worker, close: () => transport.close() };
  };

  it('an email whose queue entry was cancelled while it went out leaves its invitation\'s delivery state alone; the others are recorded', async () => {
    const { invitationIds } = await services.invites.inviteMany({ emails: Array.from({ length: 4 }, (_, i) => `group${i}@example.io`), actor: OPERATOR });
    const first = invitationIds[0]!;
    const { worker, close } = workerWith(async (sent) => {
      // As an accept does while the first email is being sent.
      if (sent === 1) await services.db('outbox').where({ invitation_id: first, state: 'pending' }).update({ state: 'cancelled', last_error: 'accepted' });
    });
    try {
      expect(await worker.drain()).toMatchObject({ delivered: 4 });
    } finally {
      close();
    }
    expect((await services.invites.get(first)).delivery.state).toBe('queued');
    for (const id of invitationIds.slice(1)) expect((await services.invites.get(id)).delivery.state).toBe('sent');
    const rows = await outboxRows(services);
    expect(rows.find((r) => r.invitation_id === first)).toMatchObject({ state: 'cancelled', last_error: 'accepted' });
  });

  it('invitations revoked while their batch is being delivered are not sent', async () => {
    const { invitationIds } = await services.invites.inviteMany({ emails: Array.from({ length: 30 }, (_, i) => `mid${i}@example.io`), actor: OPERATOR });
    const revoked = invitationIds.slice(20);
    const { worker, close } = workerWith(async (sent) => {
      if (sent !== 5) return;
      for (const id of revoked) await services.invites.revoke(id, OPERATOR);
    });
    try {
      expect(await worker.drain()).toMatchObject({ delivered: 20 });
    } finally {
      close();
    }
    const revokedEmails = new Set(await Promise.all(revoked.map(async (id) => (await services.invites.get(id)).email)));
    expect(smtp.received).toHaveLength(20);
    expect(smtp.received.some((m) => revokedEmails.has(m.envelope.to[0]!))).toBe(false);
    const rows = await outboxRows(services);
    expect(rows.filter((r) => revoked.includes(r.invitation_id!)).every((r) => r.state === 'cancelled' && r.last_error === 'revoked')).toBe(true);
    expect(rows.filter((r) => !revoked.includes(r.invitation_id!)).every((r) => r.state === 'done')).toBe(true);
  });

  it('an invitation revoked while its email waits for MAIL_RATE\'s next moment is not sent', async () => {
    const paced = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, SMTP_URL: smtp.url, MAIL_RATE: '1/s' }, { clock: systemClock });
    open.push(paced);
    const { invitationIds } = await paced.invites.inviteMany({ emails: ['waits@example.io'], actor: OPERATOR });
    // Another instance has just taken the current moment: this email's is ~1 s on, and it waits for it.
    expect(await new MailPace(test.db, systemClock, { count: 1, perMs: 1_000 }).take()).toMatchObject({ ok: true });
    const draining = paced.outbox.drain();
    // Revoked once its delivery is under way (claimed), while it waits.
    while ((await outboxRows(paced))[0]!.locked_until === null) await new Promise((resolve) => setTimeout(resolve, 5));
    await paced.invites.revoke(invitationIds[0]!, OPERATOR);
    expect(await draining).toMatchObject({ delivered: 0, cancelled: 1 });
    expect(smtp.received).toEqual([]);
    expect((await outboxRows(paced))[0]).toMatchObject({ state: 'cancelled' });
  });

  it('without SMTP_URL, each email is an .eml file under DATA_DIR/outbox/ with the link in a header, and the link is logged', async () => {
    const logLines: string[] = [];
    const local = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir }, { clock, logLines });
    open.push(local);
    expect(local.mail.kind).toBe('file');
    const { invitationIds } = await local.invites.inviteMany({ emails: 'f1@example.io, f2@example.io', actor: OPERATOR, inviterName: 'Ada' });
    expect(await local.outbox.drain()).toMatchObject({ delivered: 2, cancelled: 0 });

    const dir = path.join(data.dir, 'outbox');
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    expect(files.every((f) => f.endsWith('.eml'))).toBe(true);
    const logged = logLines.map((l) => JSON.parse(l) as { msg: string; link?: string; file?: string; to?: string }).filter((l) => l.link);
    expect(logged).toHaveLength(2);

    for (const file of files) {
      const raw = readFileSync(path.join(dir, file), 'utf8');
      const link = /^X-Doorman-Accept-Link: (\S+)$/m.exec(raw)?.[1];
      expect(link).toMatch(/^http:\/\/doorman\.test\/invite\?token=/);
      expect(raw).toMatch(/^Subject: Ada invited you to join Acme Corp$/m);
      expect(raw).toMatch(/Content-Type: text\/plain/);
      expect(raw).toMatch(/Content-Type: text\/html/);
      const invitation = await local.invites.lookupToken(new URL(link!).searchParams.get('token'));
      expect(invitationIds).toContain(invitation.id);
      expect(logged.find((l) => l.link === link)).toMatchObject({ to: invitation.email, file: path.join(dir, file) });
    }
    for (const id of invitationIds) expect((await local.invites.get(id)).delivery.state).toBe('sent');
  });
});
