import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { commandBody, FORM, slackSignature } from '../support/slack-sign.js';
import { ADMIN, buttonFor, eventually, SIGNING_SECRET, SlackWorld, textOf } from '../support/slack-world.js';

describe.each(DIALECTS)('Slack commands and the invite modal over signed HTTP (%s)', (dialect) => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('refuses forged and stale signatures with 401 and changes nothing', async () => {
    const before = await h.counts();
    const forged = await h.slash('invite forged@corp.test', ADMIN, { signature: slackSignature('not-the-secret', Math.floor(Date.now() / 1000), 'x') });
    expect(forged.ack.status).toBe(401);
    const stale = await h.slash('invite stale@corp.test', ADMIN, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.ack.status).toBe(401);
    // A signature over a different body (a tampered payload) is refused too.
    const ts = Math.floor(Date.now() / 1000);
    const body = commandBody({ command: '/doorman', text: 'invite tampered@corp.test', user_id: ADMIN, trigger_id: 't', response_url: h.api.responseUrl('tampered') });
    const tampered = await h.rawPost(body, FORM, { timestamp: ts, signature: slackSignature(SIGNING_SECRET, ts, body.replace('tampered', 'original')) });
    expect(tampered.status).toBe(401);
    await h.settle();
    expect(await h.counts()).toEqual(before);
    expect(h.api.responses.filter((r) => ['tampered'].includes(r.id))).toEqual([]);
    expect(h.api.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
  });

  it('invites and members whose read fails (the database out of reach) say so, in the ack or after it, instead of answering nothing', async () => {
    const { invites, members } = h.app.services;
    const [listWithCounts, list] = [invites.listWithCounts, members.list];
    const lost = () => Promise.reject(new Error('connection lost'));
    try {
      invites.listWithCounts = lost;
      members.list = lost;
      for (const text of ['invites', 'members']) {
        const { ack, responseId } = await h.slash(text);
        expect(ack.status).toBe(200);
        expect(textOf((await h.api.response(responseId)).body)).toContain('Something went wrong on our side');
      }
      // Failing after the ack deadline: acknowledged empty, then said at the response_url.
      invites.listWithCounts = () => new Promise((_, reject) => setTimeout(() => reject(new Error('connection lost')), 2_000));
      const late = await h.slash('invites');
      expect([late.ack.status, late.ack.text]).toEqual([200, '']);
      expect(textOf((await h.api.response(late.responseId, 0, 10_000)).body)).toContain('Something went wrong on our side');
    } finally {
      Object.assign(invites, { listWithCounts });
      Object.assign(members, { list });
    }
  });

  it('answers url_verification with the challenge', async () => {
    const res = await h.rawPost(JSON.stringify({ type: 'url_verification', token: 't', challenge: 'ch4ll3nge' }), 'application/json');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ challenge: 'ch4ll3nge' });
  });

  it('invite with a list invites at once and answers with the summary naming each skipped and invalid entry', async () => {
    await h.app.services.invites.inviteMany({ emails: 'already@corp.test', actor: { type: 'system' } });
    const { ack, responseId } = await h.slash('invite new1@corp.test, New2@Corp.test; pat@corp.test already@corp.test not-an-email, "Jane Doe <jane@corp.test>"');
    expect(ack.status).toBe(200);
    const reply = await h.api.response(responseId);
    expect(reply.body.response_type).toBe('ephemeral');
    const text = textOf(reply.body);
    expect(text).toContain('Sent 3 invitations');
    expect(text).toMatch(/already a member \(1\)[^]*pat@corp\.test/);
    expect(text).toMatch(/already invited \(1\)[^]*already@corp\.test/);
    expect(text).toMatch(/not-an-email[^]*no @/);
    const resend = buttonFor(reply.body.blocks, 'invite_resend');
    expect(resend.text.text).toBe('Resend');
    // The invitees get their email, with a working link.
    const mail = await eventually(() => h.smtp.to('new2@corp.test')[0], 10_000, 'the invitation email');
    expect((await h.app.services.invites.lookupToken(mail.token)).email).toBe('new2@corp.test');
    // …and the link opens the accept page (served by the same server).
    const page = await fetch(`${h.app.url}/invite?token=${mail.token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('new2@corp.test');

    // The Resend button on the summary mails the same link again.
    await h.emailed('already@corp.test', 1);
    const click = await h.click(resend);
    expect(click.ack.status).toBe(200);
    const said = await h.api.response(click.responseId);
    expect(said.body.replace_original).toBe(false);
    expect(textOf(said.body)).toContain('already@corp.test');
    const [first, again] = await eventually(() => h.smtp.to('already@corp.test').length === 2 && h.smtp.to('already@corp.test'), 10_000, 'the resent email');
    expect(again!.link).toBe(first!.link);
  });

  it('invite alone opens the modal inside the trigger window', async () => {
    const sent = Date.now();
    const { ack, triggerId } = await h.slash('invite  ');
    expect(ack.status).toBe(200);
    const open = await h.api.waitFor(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === triggerId));
    expect(open.at - sent).toBeLessThan(3_000);
    const view = open.args.view;
    expect(view.type).toBe('modal');
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    const inputs = Object.fromEntries(view.blocks.map((b: any) => [b.block_id, b]));
    expect(inputs.emails.element).toMatchObject({ type: 'plain_text_input', multiline: true });
    expect(inputs.emails.hint.text).toMatch(/one per line or comma-separated/i);
    expect(inputs.users.element.type).toBe('multi_users_select');
    expect(inputs.role.element.initial_option.value).toBe('member');
  });

  it('a submission with invalid entries is reviewed with each one named and why, and nothing is sent', async () => {
    const before = await h.counts();
    const res = await h.submitInvite({ emails: 'ok@corp.test\nbroken@\nalso wrong' });
    expect(res.status).toBe(200);
    const body = res.json as { response_action: string; view: any };
    expect(body.response_action).toBe('update');
    const text = textOf(body.view);
    expect(text).toMatch(/\*Not valid \(skipped\) \(3\)\*[^]*broken@[^]*also[^]*wrong/);
    expect(body.view.submit.text).toBe('Send 1 invitation');
    const empty = await h.submitInvite({ emails: '' });
    expect((empty.json as any).errors.emails).toMatch(/at least one/);
    await h.settle();
    expect(await h.counts()).toEqual(before);
  });

  it('a review and send of 1,000 addresses are each acknowledged within 3 s, then the DM summary follows and keeps up', async () => {
    const emails = Array.from({ length: 1000 }, (_, i) => `bulk${i}@corp.test`).join('\n');
    h.api.users.set('U0PICKED', { email: 'picked@corp.test', name: 'Picked Person' });
    // The modal the submission came from (its id in the payload): the picked person joins its review.
    h.api.registerView('V0MODAL', { hash: 'h1' });
    const { review, sent: res } = await h.sendInvite({ emails, users: ['U0PICKED'], role: 'developer' }, { user: ADMIN });
    expect(review.ms).toBeLessThan(3_000);
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3_000);
    expect(res.json).toMatchObject({ response_action: 'update' });
    const dm = await h.api.waitFor(() => h.api.callsTo('chat.postMessage').find((c) => c.args.channel === ADMIN));
    const summary = await h.api.waitFor(() => h.api.callsTo('chat.update').find((c) => textOf(c.args).includes('Sent 1,001 invitations')), 20_000);
    expect(summary.args.ts).toBeTruthy();
    expect(dm.args.text).toMatch(/Inviting 1,001/);
    expect(await h.db.db('invitations').where({ role: 'developer' }).count<{ n: number }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(1001);
    // Progress: the DM is updated as mail goes out, ending with every email delivered.
    await h.api.waitFor(() => h.api.callsTo('chat.update').find((c) => /delivered: 1,001 :white_check_mark:/.test(textOf(c.args))), 60_000, 'the final progress update');
  }, 90_000);
});
