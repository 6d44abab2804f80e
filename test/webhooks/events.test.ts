import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.js';
import { inTransaction, type Db } from '../../src/db/index.js';
import { expirySweep } from '../../src/jobs/index.js';
import { withoutUrls } from '../../src/events/events.js';
import type { OutboxRow } from '../../src/outbox/outbox.js';
import type { Actor } from '../../src/shared/actor.js';
import { WEBHOOK, type WebhookPayload } from '../../src/webhooks/webhook-events.js';
import { createTestDatabase, DIALECTS, ManualClock, type TestDatabase } from '../support/db.js';
import { servicesFor, stopServices, tempDataDir } from '../support/service.js';
import { TestSmtpServer } from '../support/smtp.js';
import { TEST_WEBHOOK_SECRET as SECRET } from '../support/webhook-receiver.js';

const OPERATOR: Actor = { type: 'slack', slackUserId: 'U0ADMIN', name: 'Ada' };
const DAY = 86_400_000;
const HOOK_URL = 'http://127.0.0.1:9/hooks';

interface QueuedEvent {
  webhookId: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown> & { invitation?: { id: string; email: string; status: string } };
}

/** The events queued so far (one per event: every endpoint gets the same body under the same id). */
async function queuedEvents(db: Db): Promise<QueuedEvent[]> {
  const rows = (await db<OutboxRow>('outbox').where({ kind: WEBHOOK }).orderBy('id')) as OutboxRow[];
  const seen = new Map<string, QueuedEvent>();
  for (const row of rows) {
    const payload = JSON.parse(row.payload) as WebhookPayload;
    if (!seen.has(payload.webhookId)) seen.set(payload.webhookId, { webhookId: payload.webhookId, ...(JSON.parse(payload.body) as Omit<QueuedEvent, 'webhookId'>) });
  }
  return [...seen.values()];
}

async function count(db: Db): Promise<number> {
  const rows = (await db('outbox').where({ kind: WEBHOOK }).count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(rows[0]!.n);
}

describe.each(DIALECTS)('webhook events (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let clock: ManualClock;
  const running: Services[] = [];

  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    clock = new ManualClock();
  });

  afterEach(async () => {
    await stopServices(running);
    await test.destroy();
    data.cleanup();
  });

  const services = (env: Record<string, string> = { WEBHOOK_URLS: HOOK_URL, WEBHOOK_SECRET: SECRET }, ttlMs?: number) => {
    const s = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, INVITE_TTL: '7d', ...env }, { clock, webhookEndpointsTtlMs: ttlMs });
    running.push(s);
    return s;
  };

  it('each change queues its event with it: created, resent, revoked, accepted, renewed, role changed, deactivated; a member created, an API token issued or revoked', async () => {
    const s = services();
    const first = await s.invites.inviteMany({ emails: 'a@example.io, b@example.io, c@example.io', actor: OPERATOR });
    const [a, b, c] = first.invitationIds;
    await s.invites.resend(a!, OPERATOR);
    await s.invites.revoke(b!, OPERATOR);
    const { link } = await s.invites.copyLink(c!);
    const { member } = await s.invites.accept({ token: new URL(link).searchParams.get('token'), firstName: 'Cy', lastName: 'Lee', password: 'correct horse battery' });
    await s.members.setRole(member.id, 'developer', OPERATOR);
    await s.members.deactivate(member.id, OPERATOR);
    clock.advance(8 * DAY);
    await s.invites.renew(a!, OPERATOR);
    const one = await s.invites.inviteOne({ email: 'd@example.io', role: 'admin', actor: OPERATOR });
    const { member: ops, apiToken } = await s.members.create({ email: 'ops@example.io', role: 'admin', withApiToken: true }, OPERATOR);
    const reissued = await s.members.issueApiToken(ops.id, OPERATOR);
    await s.members.revokeApiToken(ops.id, OPERATOR);

    const events = await queuedEvents(s.db);
    expect(events.map((e) => [e.type, e.data.invitation?.id ?? (e.data.member as { id: string }).id])).toEqual([
      ['invite.created', a],
      ['invite.created', b],
      ['invite.created', c],
      ['invite.resent', a],
      ['invite.revoked', b],
      ['invite.accepted', c],
      ['member.role_changed', member.id],
      ['member.deactivated', member.id],
      ['invite.renewed', a],
      // The admin role waits for a second person (the rule "Policy").
      ['invite.approval_requested', one.invitation.id],
      ['member.created', ops.id],
      ['member.api_token_issued', ops.id],
      ['member.api_token_issued', ops.id],
      ['member.api_token_revoked', ops.id],
    ]);
    // Never the token itself.
    expect(JSON.stringify(events)).not.toContain(apiToken!);
    expect(JSON.stringify(events)).not.toContain(reissued);
    expect(events.find((e) => e.type === 'member.created')!.data).toMatchObject({ member: { email: 'ops@example.io', role: 'admin', state: 'active' } });
    expect(events.find((e) => e.type === 'invite.accepted')!.data).toMatchObject({ member_id: member.id, invitation: { status: 'accepted' }, actor: { type: 'member', id: member.id } });
    expect(events.find((e) => e.type === 'invite.revoked')!.data).toMatchObject({ invitation: { status: 'revoked', email: 'b@example.io' }, actor: { type: 'slack', id: 'U0ADMIN' } });
    expect(events.find((e) => e.type === 'member.deactivated')!.data).toMatchObject({ member: { state: 'deactivated', role: 'developer' } });
    expect(events.find((e) => e.type === 'invite.renewed')!.timestamp).toBe(new Date(clock.now()).toISOString());
  });

  it('approval requests and decisions queue their events: requested, approved, denied, and a lapse as denied by nobody', async () => {
    const s = services({ WEBHOOK_URLS: HOOK_URL, WEBHOOK_SECRET: SECRET, INVITE_ALLOWED_DOMAINS: 'example.io' });
    const APPROVER: Actor = { type: 'slack', slackUserId: 'U0ANA', name: 'Ana' };
    const held = await s.invites.inviteMany({ emails: 'x@outside.dev, y@outside.dev, z@outside.dev, in@example.io', actor: OPERATOR });
    const ids = held.awaitingApproval!.map((a) => a.invitationId);
    expect(ids).toHaveLength(3);
    await s.invites.approve(ids[0]!, APPROVER);
    await s.invites.deny(ids[1]!, APPROVER, 'not a partner of ours, see https://wiki.example.io/partners');
    clock.advance(8 * DAY);
    expect(await s.invites.lapseDueRequests()).toBe(1);

    const events = await queuedEvents(s.db);
    expect(events.map((e) => [e.type, e.data.invitation?.id])).toEqual([
      ['invite.created', held.invitationIds[0]],
      ['invite.approval_requested', ids[0]],
      ['invite.approval_requested', ids[1]],
      ['invite.approval_requested', ids[2]],
      ['invite.approved', ids[0]],
      ['invite.denied', ids[1]],
      ['invite.denied', ids[2]],
    ]);
    expect(events[1]!.data).toMatchObject({ invitation: { status: 'awaiting_approval', email: 'x@outside.dev' }, actor: { type: 'slack', id: 'U0ADMIN' } });
    // The three were held by one list: one approval request, named in each of their events.
    const requests = new Set(events.slice(1, 7).map((e) => (e.data.invitation as { approval_request_id?: string }).approval_request_id));
    expect([...requests]).toEqual([expect.stringMatching(/^request_[0-9A-Z]{26}$/)]);
    expect(events[0]!.data.invitation).not.toHaveProperty('approval_request_id');
    expect(events[4]!.data).toMatchObject({ invitation: { status: 'pending' }, actor: { type: 'slack', id: 'U0ANA' } });
    // A reason typed by a person may quote a link: it is cut out.
    expect(events[5]!.data).toMatchObject({ invitation: { status: 'revoked' }, reason: 'not a partner of ours, see [link removed]' });
    expect(events[6]!.data).toMatchObject({ actor: null, reason: expect.stringContaining('lapsed') });
  });

  it('a change that does not happen queues nothing', async () => {
    const s = services();
    await expect(s.invites.inviteMany({ emails: 'a@example.io', actor: OPERATOR }, { alsoInTransaction: async () => Promise.reject(new Error('stop')) })).rejects.toThrow('stop');
    const { invitationIds } = await s.invites.inviteMany({ emails: 'b@example.io', actor: OPERATOR });
    await s.invites.revoke(invitationIds[0]!, OPERATOR);
    await expect(s.invites.revoke(invitationIds[0]!, OPERATOR)).rejects.toThrow();
    expect((await queuedEvents(s.db)).map((e) => e.type)).toEqual(['invite.created', 'invite.revoked']);
  });

  it('the expiry sweep queues invite.reminded and invite.expired once each, with Slack off; an expired address invited again is invite.renewed', async () => {
    const s = services();
    await s.invites.inviteMany({ emails: 'a@example.io', actor: OPERATOR });
    const sweep = expirySweep(s, { notices: false });
    clock.advance(6.5 * DAY);
    expect(await sweep.run()).toMatchObject({ reminded: 1, expired: 0 });
    clock.advance(DAY);
    expect(await sweep.run()).toMatchObject({ reminded: 0, expired: 1 });
    expect(await sweep.run()).toMatchObject({ reminded: 0, expired: 0 });
    await s.invites.inviteMany({ emails: 'a@example.io', actor: OPERATOR });
    const events = await queuedEvents(s.db);
    expect(events.map((e) => e.type)).toEqual(['invite.created', 'invite.reminded', 'invite.expired', 'invite.renewed']);
    expect(events[2]!.data).toMatchObject({ invitation: { email: 'a@example.io', status: 'expired' }, actor: null });
    // With Slack off the sweep queues no Slack notices (nothing would deliver them).
    expect(Number(((await s.db('outbox').where({ kind: 'slack_notice' }).count({ n: '*' })) as Array<{ n: string }>)[0]!.n)).toBe(0);
  });

  it('invite.delivery_failed: once when the email starts failing, once when it is refused for good', async () => {
    const smtp = await TestSmtpServer.create();
    try {
      const s = services({ WEBHOOK_URLS: HOOK_URL, WEBHOOK_SECRET: SECRET, SMTP_URL: smtp.url });
      // Two failures in a row are one event; the refusal after them is another.
      smtp.fail({ kind: 'drop', times: 2 });
      await s.invites.inviteMany({ emails: 'kim@example.io', actor: OPERATOR });
      await s.outbox.drain();
      clock.advance(3_600_000);
      await s.outbox.drain();
      expect(smtp.attempts).toBe(2);
      smtp.fail({ kind: 'reply', at: 'rcpt', code: 550, message: 'no such user, see http://mx.example/why' });
      clock.advance(3_600_000);
      await s.outbox.drain();
      const failed = (await queuedEvents(s.db)).filter((e) => e.type === 'invite.delivery_failed');
      expect(failed.map((e) => (e.data.delivery as { state: string }).state)).toEqual(['failing', 'refused']);
      expect(JSON.stringify(failed)).not.toContain('http://mx.example');
    } finally {
      await smtp.stop();
    }
  });

  it('10,000 invitations in one list queue one event each; with no endpoint, none at all', async () => {
    const emails = Array.from({ length: 10_000 }, (_, i) => `bulk${i}@example.io`);
    // An operator's bulk list: the daily limit (the rule "Policy") is not what this measures.
    const withHooks = services({ WEBHOOK_URLS: HOOK_URL, WEBHOOK_SECRET: SECRET, INVITE_DAILY_LIMIT: '100000' });
    await withHooks.invites.inviteMany({ emails, actor: OPERATOR });
    expect(await count(withHooks.db)).toBe(10_000);
    await stopServices(running);

    await test.db('outbox').delete();
    await test.db('invitations').delete();
    const without = services({ INVITE_DAILY_LIMIT: '100000' }, 10_000);
    await without.invites.inviteMany({ emails, actor: OPERATOR });
    expect(await count(without.db)).toBe(0);
    expect(Number(((await test.db('invitations').count({ n: '*' })) as Array<{ n: string | number }>)[0]!.n)).toBe(10_000);
  }, 60_000);

  it('with no endpoint configured, PostgreSQL keeps its one-statement changes; a stored endpoint brings the events back', async () => {
    const s = services({}, 0);
    const { invitationIds } = await s.invites.inviteMany({ emails: 'a@example.io', actor: OPERATOR });
    await s.invites.resend(invitationIds[0]!, OPERATOR);
    expect(await queuedEvents(s.db)).toEqual([]);
    await inTransaction(s.db, (trx) => trx('webhook_endpoints').insert({ id: 'whep_TEST', url: HOOK_URL, secret: SECRET, events: null, state: 'active', created_at: 0, updated_at: 0 }));
    await s.invites.resend(invitationIds[0]!, OPERATOR);
    await s.invites.revoke(invitationIds[0]!, OPERATOR);
    expect((await queuedEvents(s.db)).map((e) => e.type)).toEqual(['invite.resent', 'invite.revoked']);
  });
});

describe('free text in an event (a deny reason, a mail server\'s answer)', () => {
  it('has every link cut out, however it is written; the rest of the words stay', () => {
    const reason = 'see doorman.example/invite?token=abc, //files.example/x, www.partner.example and (https://a.example/b) or ?token=xyz; ask jane@x.io at 5.1.1';
    expect(withoutUrls(reason)).toBe('see [link removed] [link removed] [link removed] and [link removed] or [link removed] ask jane@x.io at 5.1.1');
    expect(withoutUrls('ask at intranet.acme.com:8443/request or 10.0.0.5/reset')).toBe('ask at [link removed] or [link removed]');
    // What is no link stays, in a mail server's words and a person's.
    for (const kept of [
      '550 5.1.1 <jane@x.io>: Recipient address rejected',
      '421 4.7.0 mx.google.com try again in 1.5 minutes - gsmtp',
      'e.g. the U.S. office, St. Louis; see the policy, version 2.1',
    ]) expect(withoutUrls(kept)).toBe(kept);
    expect(withoutUrls('452 4.2.2 The email account is over quota. https://support.google.com/mail/?p=OverQuotaTemp - gsmtp')).toBe('452 4.2.2 The email account is over quota. [link removed] - gsmtp');
    expect(withoutUrls('x'.repeat(400))).toHaveLength(300);
  });
});
