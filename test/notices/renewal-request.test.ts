import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { DIALECTS } from '../support/db.js';
import type { ApiCall } from '../support/slack-api.js';
import { buttonFor, eventually, MEMBER_ADMIN, pause, SlackWorld, textOf } from '../support/slack-world.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('asking for a new invitation from an expired link (%s)', (dialect) => {
  let h: SlackWorld;
  let browser: Browser;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    // Behind a proxy, so each request below can come from its own address (the per-address limit is tested in test/web).
    [h, browser] = await Promise.all([SlackWorld.start(dialect, { env: { TRUST_PROXY: '1' } }), launchBrowser()]);
    const emails = ['ren.one@corp.test', 'ren.two@corp.test', 'ren.three@corp.test'];
    await h.invite(emails);
    await eventually(() => emails.every((e) => h.smtp.to(e).length === 1), 10_000, 'the invitation emails');
    for (const e of emails) tokens[e] = h.smtp.to(e)[0]!.token!;
    h.clock.advance(8 * DAY);
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await browser?.close();
    await h.stop();
  });

  let asked = 0;
  const ask = (token: string) =>
    fetch(`${h.app.url}/invite/renewal`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `192.0.2.${++asked}` }, body: new URLSearchParams({ token }).toString() });
  const requests = async () => Number((await h.db.db('renewal_requests').count<{ n: number }[]>({ n: '*' }))[0]!.n);
  /** The request DMs to the inviter (the expiry sweep's DM goes to the same person). */
  const asks = () => h.dms(MEMBER_ADMIN).filter((dm) => / asks for a new invitation /.test(String(dm.args.text)));
  /** Waits for `count` request DMs, moving the clock past the per-conversation pacing. */
  const waitForAsks = (count: number) =>
    eventually(() => {
      h.clock.advance(1_100);
      return asks().length >= count ? asks() : undefined;
    }, 10_000, `${count} request DM(s)`);
  const audits = (action: string) => h.db.db('audit_log').where({ action }).select('actor_type', 'actor_id', 'subject_id', 'details');

  it('the expired page offers the request; in a browser it is one click, and the inviter gets a DM with Send new invitation and Dismiss', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const opened = await page.goto(`${h.app.url}/invite?token=${tokens['ren.one@corp.test']}`);
    expect(opened?.status()).toBe(410);
    expect(await page.textContent('h1')).toBe('This invitation has expired');
    // Opening the page asks for nothing.
    expect(await requests()).toBe(0);
    await Promise.all([page.waitForURL(/\/invite\/renewal\?requested=1$/), page.click('text=Ask for a new invitation')]);
    expect(await page.textContent('h1')).toBe('New invitation requested');
    expect(await page.textContent('main')).toMatch(/whoever sent it has been asked to send you a new one/);
    // Post/Redirect/Get: a reload shows the same page and asks nothing again.
    const reloaded = await page.reload();
    expect([reloaded?.status(), reloaded?.request().method(), await page.textContent('h1')]).toEqual([200, 'GET', 'New invitation requested']);
    expect(await requests()).toBe(1);
    await context.close();

    const [dm] = (await waitForAsks(1)) as [ApiCall];
    expect(dm.args.text).toMatch(/^ren\.one@corp\.test asks for a new invitation \(expired \d{4}-\d{2}-\d{2}\)$/);
    expect(textOf(dm.args as any)).toContain('*ren.one@corp.test* asks for a new invitation (expired <!date^');
    expect(buttonFor(dm.args.blocks, 'send_new_invitation').text.text).toBe('Send new invitation');
    expect(buttonFor(dm.args.blocks, 'notice_dismiss').text.text).toBe('Dismiss');
    const [audit] = await audits('renewal_request');
    expect(audit).toMatchObject({ actor_type: 'system', actor_id: 'invitee' });
    expect(JSON.parse(audit!.details)).toMatchObject({ email: 'ren.one@corp.test' });

    // Send new invitation: a fresh link by email, the DM redrawn without the buttons.
    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'send_new_invitation'), { user: MEMBER_ADMIN });
    expect(click.ack.status).toBe(200);
    const updated = (await h.api.response(click.responseId)).body;
    expect(textOf(updated)).toContain('Sent a new invitation to *ren.one@corp.test*');
    expect(textOf(updated)).toContain('Now :hourglass_flowing_sand: Pending.');
    expect(JSON.stringify(updated.blocks)).not.toContain('notice_dismiss');
    await eventually(() => h.smtp.to('ren.one@corp.test').length === 2, 10_000, 'the new invitation email');
    expect(await audits('renew')).toHaveLength(1);
  });

  it('a second request within a day tells no one; after a day it asks again; the page says the same each time', async () => {
    // The day counts from the first request; waiting for its DM moves the clock on (the pacing).
    const firstAskedAt = h.clock.now();
    const first = await ask(tokens['ren.two@corp.test']!);
    const firstPage = await first.text();
    expect(first.status).toBe(200);
    await waitForAsks(2);
    const again = await ask(tokens['ren.two@corp.test']!);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(firstPage);
    h.clock.current = Math.max(h.clock.now(), firstAskedAt + DAY - 60_000);
    await ask(tokens['ren.two@corp.test']!);
    await pause(500);
    h.clock.advance(2_000);
    await pause(300);
    expect(asks()).toHaveLength(2);
    expect(await requests()).toBe(2);
    h.clock.advance(2 * 60_000);
    await ask(tokens['ren.two@corp.test']!);
    await waitForAsks(3);
    expect(await requests()).toBe(3);
  });

  it('Dismiss sends nothing, is audited, and the DM says who dismissed it; a second Dismiss changes nothing', async () => {
    await ask(tokens['ren.three@corp.test']!);
    const dms = await waitForAsks(4);
    const dm = dms.find((d) => String(d.args.text).startsWith('ren.three@corp.test'))!;
    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'notice_dismiss'), { user: MEMBER_ADMIN });
    expect(click.ack.status).toBe(200);
    const updated = (await h.api.response(click.responseId)).body;
    expect(textOf(updated)).toContain(`Dismissed by <@${MEMBER_ADMIN}>`);
    expect(JSON.stringify(updated.blocks)).not.toContain('send_new_invitation');
    const [audit] = await audits('renewal_request_dismiss');
    expect(audit).toMatchObject({ actor_type: 'slack', actor_id: MEMBER_ADMIN });
    const invitation = (await h.services.invites.list({ search: 'ren.three' })).invitations[0]!;
    expect(invitation.status).toBe('expired');
    expect(h.smtp.to('ren.three@corp.test')).toHaveLength(1);
    // The same button again (another click, not a retry): already dismissed, nothing recorded twice.
    h.clock.advance(11_000);
    const twice = await h.clickDm(dm, buttonFor(dm.args.blocks, 'notice_dismiss'), { user: MEMBER_ADMIN });
    expect(textOf((await h.api.response(twice.responseId)).body)).toContain('This request was already dismissed.');
    expect(await audits('renewal_request_dismiss')).toHaveLength(1);
  });

  it('a link that expired while its form was open: submitting the form offers the request too, and asks nothing by itself', async () => {
    const before = await requests();
    const password = 'a long enough password';
    const res = await fetch(`${h.app.url}/invite`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens['ren.two@corp.test']!, first_name: 'Ren', last_name: 'Two', password, confirm_password: password }).toString(),
    });
    expect(res.status).toBe(410);
    const page = await res.text();
    expect(page).toContain('This invitation has expired');
    expect(page).toContain('Ask for a new invitation');
    expect(await requests()).toBe(before);
  });

  it('unknown, pending, revoked and accepted links get the same answer and ask for nothing', async () => {
    const [revokedId] = await h.invite(['ren.revoked@corp.test', 'ren.accepted@corp.test']);
    await eventually(() => h.smtp.to('ren.revoked@corp.test').length === 1, 10_000, 'the email to be revoked');
    await h.services.invites.revoke(revokedId!, { type: 'system' });
    await h.accept('ren.accepted@corp.test');
    const before = { requests: await requests(), asks: asks().length };
    const expected = await (await ask(tokens['ren.two@corp.test']!)).text();
    const pendingToken = h.smtp.to('ren.one@corp.test')[1]!.token!;
    const revokedToken = h.smtp.to('ren.revoked@corp.test')[0]!.token!;
    const acceptedToken = h.smtp.to('ren.accepted@corp.test')[0]!.token!;
    // tokens['ren.one@corp.test'] is the link a newer invitation replaced.
    for (const token of ['nonsense', 'A'.repeat(43), pendingToken, tokens['ren.one@corp.test']!, revokedToken, acceptedToken, '']) {
      const res = await ask(token);
      expect(res.status, token).toBe(200);
      expect(await res.text(), token).toBe(expected);
    }
    h.clock.advance(2_000);
    await pause(500);
    expect(await requests()).toBe(before.requests);
    expect(asks()).toHaveLength(before.asks);
  });

  it('an expired link of an address that became a member says so, not "ask for a new invitation", and a request asks no one', async () => {
    await h.invite(['ren.member@corp.test']);
    await eventually(() => h.smtp.to('ren.member@corp.test').length === 1, 10_000, 'the invitation email');
    const token = h.smtp.to('ren.member@corp.test')[0]!.token!;
    await h.services.members.create({ email: 'ren.member@corp.test', role: 'member', firstName: 'Al', lastName: 'Ready' }, { type: 'system' });
    h.clock.advance(8 * DAY);
    const page = await fetch(`${h.app.url}/invite?token=${token}`);
    const text = await page.text();
    expect(page.status).toBe(409);
    expect(text).toContain('You are already a member');
    expect(text).not.toContain('Ask for a new invitation');
    // Reached through the welcome page's address (history, a bookmark): the same.
    const welcome = await fetch(`${h.app.url}/invite/welcome?token=${token}`);
    expect(welcome.status).toBe(409);
    expect(await welcome.text()).toContain('You are already a member');
    const before = { requests: await requests(), asks: asks().length };
    expect((await ask(token)).status).toBe(200);
    h.clock.advance(2_000);
    await pause(500);
    expect(await requests()).toBe(before.requests);
    expect(asks()).toHaveLength(before.asks);
  });
});
