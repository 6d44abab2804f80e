import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, ManualClock } from '../support/db.js';
import { linkFromEmail, request, startTestApp, type TestApp } from '../support/http.js';

describe.each(DIALECTS)('admin API: approvals (the rule "Policy") (%s)', (dialect) => {
  let t: TestApp;
  let ben: { apiToken: string };
  let dev: { apiToken: string };
  let n = 0;
  const clock = new ManualClock();
  const fresh = (label: string, domain = 'other.io') => `${label}-${++n}@${domain}`;

  beforeAll(async () => {
    t = await startTestApp(dialect, { clock, env: { INVITE_ALLOWED_DOMAINS: 'acme.test, *.acme.test', INVITE_DAILY_LIMIT: '6' } });
    ben = await t.createMember('admin', 'ben@acme.test');
    dev = await t.createMember('developer', 'dev@acme.test');
  });
  afterAll(async () => {
    await t?.close();
  });

  const as = (apiToken: string) => (pathname: string, options: Parameters<typeof request>[2] = {}) => request(t.url, pathname, { apiToken, ...options });
  const ada = () => as(t.admin.apiToken);
  const listed = async (email: string, status = 'all') => {
    const res = await ada()(`/admin/invites?status=${status}&q=${encodeURIComponent(email)}`);
    return (res.json.invites as Array<Record<string, any>>).find((i) => i.user_email === email);
  };

  it('create answers OK for an outside address; the invitation is listed as awaiting_approval with why, and no email is sent', async () => {
    const email = fresh('out');
    const res = await ada()('/admin/invites', { body: { user: email, role: 'member' } });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe('OK');
    const invite = await listed(email, 'awaiting_approval');
    expect(invite).toMatchObject({ status: 'awaiting_approval', token: null, accepted: false, delivery_state: null, delivery_error: null, approval: { reasons: ['outside_domains'], decision: null } });
    // Medusa's default list (open invitations) shows it too.
    expect(await listed(email, 'open')).toMatchObject({ status: 'awaiting_approval' });
    expect(await t.services.db('outbox').where({ invitation_id: invite!.id })).toHaveLength(0);
  });

  it('a re-post of an invitation awaiting approval: as it is, OK; with another role, expiry or message, refused with nothing changed', async () => {
    const email = fresh('repost');
    const post = (body: Record<string, unknown>) => as(ben.apiToken)('/admin/invites', { body: { user: email, ...body } });
    expect((await post({ role: 'member', expires_in_days: 3, message: 'Hi' })).text).toBe('OK');
    const held = (await listed(email))!;
    expect((await post({ role: 'member' })).text).toBe('OK');
    for (const change of [{ role: 'admin' }, { role: 'member', expires_in_days: 7 }, { role: 'member', message: 'Another' }]) {
      const refused = await post(change);
      expect(refused.status, JSON.stringify(change)).toBe(400);
      expect(refused.json).toMatchObject({ type: 'not_allowed', code: 'awaiting_approval' });
    }
    expect(await listed(email)).toEqual(held);
  });

  it('approve: not by the requester, not without invite:approve; by another admin it sends the email; a second decision is 400 not_allowed naming who decided (medusa-js retries every 409)', async () => {
    const email = fresh('approve');
    await ada()('/admin/invites', { body: { user: email, role: 'member' } });
    const { id } = (await listed(email))!;
    const own = await ada()(`/admin/invites/${id}/approve`, { body: {} });
    expect(own.status, own.text).toBe(403);
    expect(own.json).toMatchObject({ type: 'not_allowed', code: 'own_request' });
    const developer = await as(dev.apiToken)(`/admin/invites/${id}/approve`, { body: {} });
    expect(developer.status).toBe(403);
    expect(developer.json).toMatchObject({ code: 'not_permitted', message: expect.stringContaining('Invite: Approve') });
    expect((await listed(email))!.status).toBe('awaiting_approval');

    const approved = await as(ben.apiToken)(`/admin/invites/${id}/approve`, { body: {} });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json.invite).toMatchObject({ id, status: 'pending', approval: { decision: 'approved', decided_by: 'ben@acme.test' } });
    const { link } = await linkFromEmail(t.smtp, email);
    expect(link).toContain('/invite?token=');

    const again = await ada()(`/admin/invites/${id}/deny`, { body: { reason: 'late' } });
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ type: 'not_allowed', code: 'already_decided', message: expect.stringContaining('ben@acme.test') });
  });

  it('deny needs a reason; denied, nothing is sent and it lists as revoked with the reason', async () => {
    const email = fresh('deny', 'acme.test');
    await ada()('/admin/invites', { body: { user: email, role: 'admin' } });
    const { id, approval } = (await listed(email))!;
    expect(approval.reasons).toEqual(['admin_role']);
    expect((await as(ben.apiToken)(`/admin/invites/${id}/deny`, { body: {} })).status).toBe(400);
    expect((await as(ben.apiToken)(`/admin/invites/${id}/deny`, { body: { reason: 'x', extra: 1 } })).status).toBe(400);
    const denied = await as(ben.apiToken)(`/admin/invites/${id}/deny`, { body: { reason: 'Admins are made by IT' } });
    expect(denied.status, denied.text).toBe(200);
    expect(denied.json.invite).toMatchObject({ status: 'revoked', delivery_state: null, delivery_error: null, approval: { decision: 'denied', deny_reason: 'Admins are made by IT', request_id: expect.stringMatching(/^request_[0-9A-Z]{26}$/) } });
    expect(await t.services.db('outbox').where({ invitation_id: id })).toHaveLength(0);
  });

  it('unknown and malformed ids are 404; a live invitation is not awaiting approval', async () => {
    expect((await as(ben.apiToken)('/admin/invites/invite_01NOPE/approve', { body: {} })).status).toBe(404);
    expect((await as(ben.apiToken)('/admin/invites/..%2Fusers/approve', { body: {} })).status).toBe(404);
    const email = fresh('plain', 'eu.acme.test');
    await ada()('/admin/invites', { body: { user: email, role: 'member' } });
    const { id, status } = (await listed(email))!;
    expect(status).toBe('pending');
    const res = await as(ben.apiToken)(`/admin/invites/${id}/approve`, { body: {} });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'not_awaiting_approval' });
  });

  it('re-POSTing a live invitation as admin holds it again: its emailed link answers "waiting for approval" until approved', async () => {
    const email = fresh('raise', 'acme.test');
    await ada()('/admin/invites', { body: { user: email, role: 'member' } });
    const { token } = await linkFromEmail(t.smtp, email);
    const raised = await ada()('/admin/invites', { body: { user: email, role: 'admin' } });
    expect(raised.status, raised.text).toBe(200);
    const invite = (await listed(email))!;
    expect(invite).toMatchObject({ status: 'awaiting_approval', role: 'admin', approval: { reasons: ['admin_role'] } });
    const page = await request(t.url, `/invite?token=${token}`);
    expect(page.status).toBe(409);
    expect(page.text).toContain('This invitation is waiting for approval');
    const accept = await request(t.url, '/admin/invites/accept', { body: { token, user: { first_name: 'A', last_name: 'B', password: 'a long password here' } } });
    expect(accept.status).toBe(400);
    expect(accept.json).toMatchObject({ code: 'awaiting_approval' });
    expect((await as(ben.apiToken)(`/admin/invites/${invite.id}/approve`, { body: {} })).status).toBe(200);
    // Approved: a new email with a new link; the old one stays dead, and says it was replaced.
    const second = await linkFromEmail(t.smtp, email, 2);
    expect(second.token).not.toBe(token);
    expect((await request(t.url, `/invite?token=${second.token}`)).status).toBe(200);
    const replaced = await request(t.url, `/invite?token=${token}`);
    expect([replaced.status, replaced.text.includes('This link was replaced')]).toEqual([410, true]);
  });

  it('the daily limit: past INVITE_DAILY_LIMIT a create is refused with 429 and stores nothing', async () => {
    // Ada made 5 invitations above; one more fits.
    expect((await ada()('/admin/invites', { body: { user: fresh('l1', 'acme.test'), role: 'member' } })).status).toBe(200);
    const over = fresh('l3', 'acme.test');
    const res = await ada()('/admin/invites', { body: { user: over, role: 'member' } });
    expect(res.status, res.text).toBe(429);
    expect(res.json).toMatchObject({ type: 'not_allowed', code: 'daily_limit', message: expect.stringContaining('6') });
    // When a place frees (the oldest of the 24 hours leaves them), for clients that retry a 429 on their own.
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(23 * 3600);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(24 * 3600);
    expect(await listed(over)).toBeUndefined();
    // Another admin has their own count.
    expect((await as(ben.apiToken)('/admin/invites', { body: { user: over, role: 'member' } })).status).toBe(200);
  });

  it('an expired invitation renewed into a hold and then denied lists no email as queued: none was', async () => {
    const email = fresh('renew-held');
    // The operator's invitation is never held; it is emailed, then expires.
    await t.services.invites.inviteMany({ emails: email, actor: { type: 'system', name: 'cli:test' } });
    clock.advance(8 * 86_400_000);
    expect((await ada()('/admin/invites', { body: { user: email, role: 'member' } })).status).toBe(200);
    const held = (await listed(email))!;
    expect(held).toMatchObject({ status: 'awaiting_approval', delivery_state: null });
    const denied = await as(ben.apiToken)(`/admin/invites/${held.id}/deny`, { body: { reason: 'not this one' } });
    expect(denied.status, denied.text).toBe(200);
    expect(denied.json.invite).toMatchObject({ status: 'revoked', delivery_state: null, delivery_error: null });
    expect(await listed(email, 'revoked')).toMatchObject({ delivery_state: null });
  });

  it('an invitation already emailed, raised to admin and then denied, still lists the email it had', async () => {
    const email = fresh('raised-denied', 'acme.test');
    await ada()('/admin/invites', { body: { user: email, role: 'member' } });
    await linkFromEmail(t.smtp, email);
    await expect.poll(async () => (await listed(email))?.delivery_state, { timeout: 10_000 }).toBe('sent');
    expect((await ada()('/admin/invites', { body: { user: email, role: 'admin' } })).status).toBe(200);
    const { id } = (await listed(email))!;
    const denied = await as(ben.apiToken)(`/admin/invites/${id}/deny`, { body: { reason: 'no admins this way' } });
    expect(denied.json.invite).toMatchObject({ status: 'revoked', delivery_state: 'sent' });
  });
});
