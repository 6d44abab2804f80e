import { FORM } from '../support/slack-sign.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvitationExpired, LinkReplaced } from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, MEMBER_ADMIN, SlackWorld, noticeIdOf, pause, PLAIN, SLACK_ACTOR, STRANGER, SYSTEM_ACTOR } from '../support/slack-world.js';
import type { ApiCall } from '../support/slack-api.js';
import { buttonFor, elementsOf, eventually, textOf } from '../support/slack-world.js';

/**
 * The expiry DM's buttons (send new invitation from a DM), clicked the way Slack sends
 * them — signed block_actions with the value the DM carries — mail new links that work while the
 * old ones stay dead, update the DM in place, refuse people without Member: Manage, and do a
 * redelivered click once.
 */
describe.each(DIALECTS)('the expiry DM\'s buttons (%s)', (dialect) => {
  let h: SlackWorld;
  let ids: string[] = [];
  let dm: ApiCall;
  const emails = ['b1@corp.test', 'b2@corp.test', 'b3@corp.test'];
  const oldTokens: Record<string, string> = {};
  const mails = (email: string) => h.smtp.to(email).length;

  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
    ids = await h.invite(emails, SLACK_ACTOR);
    await h.smtp.waitFor(3);
    for (const email of emails) oldTokens[email] = h.smtp.to(email)[0]!.token!;
    h.clock.advance(7 * DAY + 60_000);
    await h.sweep();
    [dm] = (await h.waitForDms(MEMBER_ADMIN, 1)) as [ApiCall];
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('"Send new invitation" mails a new link that works, the old link stays dead, and the DM is redrawn in place', async () => {
    const button = buttonFor(dm.args.blocks, 'send_new_invitation', ids[0]);
    // The row, when it was last sent as drawn, and the notice.
    expect(button.value).toMatch(new RegExp(`^n\\.${ids[0]}\\.v[0-9a-z]+\\.${noticeIdOf(dm)}$`));
    const click = await h.clickDm(dm, button, { user: MEMBER_ADMIN });
    expect(click.ack.status).toBe(200);
    const updated = (await h.api.response(click.responseId)).body;
    expect(updated.replace_original).toBe(true);
    const text = textOf(updated);
    expect(text).toContain('Sent a new invitation to *b1@corp.test* with a new link; the old link stays dead.');
    // Drawn from the current state: b1 is pending again (Resend), the others still expired.
    expect(buttonFor(updated.blocks, 'invite_resend', ids[0]).text.text).toBe('Resend');
    expect(buttonFor(updated.blocks, 'send_new_invitation', ids[1])).toBeTruthy();
    expect(buttonFor(updated.blocks, 'notice_send_new_all').text.text).toBe('Send new invitations to all (2)');

    await eventually(() => mails('b1@corp.test') === 2, 10_000, 'the new invitation email');
    const mail = h.smtp.to('b1@corp.test')[1]!;
    expect(mail.token).toBeTruthy();
    expect(mail.token).not.toBe(oldTokens['b1@corp.test']);
    const { invites } = h.services;
    const fresh = await invites.lookupToken(mail.token);
    expect(fresh).toMatchObject({ id: ids[0], status: 'pending', expiresAt: h.clock.now() + 7 * DAY });
    await expect(invites.lookupToken(oldTokens['b1@corp.test'])).rejects.toBeInstanceOf(LinkReplaced);
    // The accept page agrees.
    const page = await fetch(`${h.app.url}/invite?token=${oldTokens['b1@corp.test']}`);
    expect(page.status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${h.app.url}/invite?token=${mail.token}`)).status).toBe(200);
  });

  it('refuses people without Member: Manage, and nothing changes', async () => {
    const before = await h.services.invites.get(ids[1]!);
    for (const user of [PLAIN, STRANGER]) {
      const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'send_new_invitation', ids[1]), { user });
      expect(click.ack.status).toBe(200);
      const reply = (await h.api.response(click.responseId)).body;
      expect(reply.response_type).toBe('ephemeral');
      expect(reply.replace_original).toBe(false);
      expect(reply.text).toContain('Member: Manage');
      const all = await h.clickDm(dm, buttonFor(dm.args.blocks, 'notice_send_new_all'), { user });
      expect((await h.api.response(all.responseId)).body.text).toContain('Member: Manage');
    }
    await pause(300);
    expect(mails('b2@corp.test')).toBe(1);
    expect(mails('b3@corp.test')).toBe(1);
    expect(await h.services.invites.get(ids[1]!)).toEqual(before);
    // Still the same (expired, not replaced) link.
    await expect(h.services.invites.lookupToken(oldTokens['b2@corp.test'])).rejects.toBeInstanceOf(InvitationExpired);
  });

  it('does a click Slack redelivers (X-Slack-Retry-Num) once: one email, one reply', async () => {
    const click = await h.clickDm(dm, buttonFor(dm.args.blocks, 'send_new_invitation', ids[1]), { user: ADMIN });
    for (const retryNum of [1, 2]) expect((await h.rawPost(click.body, FORM, { retryNum })).status).toBe(200);
    await h.api.response(click.responseId);
    await eventually(() => mails('b2@corp.test') === 2, 10_000, 'the new invitation email');
    await pause(500);
    expect(mails('b2@corp.test')).toBe(2);
    expect(h.api.responsesTo(click.responseId)).toHaveLength(1);
    const audit = await h.db.db('audit_log').where({ subject_id: ids[1], action: 'renew' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_type: 'slack', actor_id: ADMIN });
    // A second click on the now-pending invitation's old button says so, and sends nothing.
    h.clock.advance(11_000);
    const stale = await h.clickDm(dm, buttonFor(dm.args.blocks, 'send_new_invitation', ids[1]), { user: ADMIN });
    expect(textOf((await h.api.response(stale.responseId)).body)).toContain('has not expired yet');
    await pause(300);
    expect(mails('b2@corp.test')).toBe(2);
  });

  it('"Send new invitations to all" sends every one still expired, once', async () => {
    const four = await h.invite(['all1@corp.test', 'all2@corp.test', 'all3@corp.test', 'all4@corp.test'], SYSTEM_ACTOR);
    await eventually(() => four.every((_, i) => mails(`all${i + 1}@corp.test`) === 1), 10_000, 'the invitation emails');
    h.clock.advance(7 * DAY + 1);
    await h.sweep();
    const [notice] = await h.waitForDms(ADMIN, 1);
    expect(notice!.args.text).toBe('4 invitations expired');
    // b1 and b2, renewed above, have expired again: a new expiry, announced to their inviter once.
    const again = (await h.waitForDms(MEMBER_ADMIN, 2))[1]!;
    expect(again.args.text).toBe('2 invitations expired');
    expect(textOf(again.args)).toContain('b1@corp.test');
    expect(textOf(again.args)).not.toContain('b3@corp.test');
    const all = buttonFor(notice!.args.blocks, 'notice_send_new_all');
    expect(all.confirm.title.text).toBe('Send new invitations?');
    const click = await h.clickDm(notice!, all, { user: ADMIN });
    const updated = (await h.api.response(click.responseId)).body;
    expect(updated.replace_original).toBe(true);
    expect(textOf(updated)).toContain('Sent 4 new invitations with new links');
    expect(elementsOf(updated.blocks).some((e) => e.action_id === 'notice_send_new_all')).toBe(false);
    for (const id of four) expect(buttonFor(updated.blocks, 'invite_resend', id)).toBeTruthy();
    await eventually(() => four.every((_, i) => mails(`all${i + 1}@corp.test`) === 2), 10_000, 'four new invitation emails');
    // ADMIN2 got the same notice: their click now finds nothing left to send.
    const [other] = await h.waitForDms(ADMIN2, 1);
    const second = await h.clickDm(other!, buttonFor(other!.args.blocks, 'notice_send_new_all'), { user: ADMIN2 });
    expect(textOf((await h.api.response(second.responseId)).body)).toContain('None of these invitations is still expired: nothing was sent.');
    await pause(300);
    expect(four.map((_, i) => mails(`all${i + 1}@corp.test`))).toEqual([2, 2, 2, 2]);
  });

  it('shows ten and "…and N more" with a button that opens the expired list, when more expired than fit', async () => {
    const many = Array.from({ length: 13 }, (_, i) => `m${String(i).padStart(2, '0')}@corp.test`);
    const manyIds = await h.invite(many, SLACK_ACTOR);
    await eventually(() => many.every((e) => mails(e) === 1), 15_000, 'the invitation emails');
    h.clock.advance(7 * DAY + 1);
    await h.sweep();
    const dms = await h.waitForDms(MEMBER_ADMIN, 3);
    const notice = dms[2]!;
    const payload = (await h.notices()).find((n) => n.id === noticeIdOf(notice))!.payload as { invitationIds: string[] };
    expect([...payload.invitationIds].sort()).toEqual([...manyIds].sort());
    const total = 13;
    expect(notice.args.text).toBe(`${total} invitations expired`);
    const sendNew = elementsOf(notice.args.blocks).filter((e) => e.action_id.startsWith('send_new_invitation'));
    expect(sendNew).toHaveLength(10);
    expect(textOf(notice.args)).toContain(`…and ${total - 10} more invitation`);
    expect(buttonFor(notice.args.blocks, 'notice_send_new_all').text.text).toBe(`Send new invitations to all (${total})`);
    const show = buttonFor(notice.args.blocks, 'notice_show_list');
    expect(show.text.text).toBe('Show expired invitations');
    expect(notice.args.blocks.length).toBeLessThanOrEqual(50);

    const click = await h.clickDm(notice, show, { user: MEMBER_ADMIN });
    const table = (await h.api.response(click.responseId)).body;
    expect(table.response_type).toBe('ephemeral');
    expect(table.replace_original).toBe(false);
    expect(textOf(table)).toContain('Invitations — Expired');
    // The whole expired list, the latest expired first (this notice's, not older ones), paged like /invites.
    expect(textOf(table)).toMatch(/Showing 1–10 of \d+/);
    const shown = [...textOf(table).matchAll(/\*([^*\s]+@corp\.test)\*/g)].map((m) => m[1]);
    expect(shown).toHaveLength(10);
    for (const email of shown) expect(many).toContain(email);
    expect(elementsOf(table.blocks).filter((e) => e.action_id.startsWith('send_new_invitation'))).toHaveLength(10);
    // Refused for a plain member, like every other button.
    const refused = await h.clickDm(notice, show, { user: PLAIN });
    expect((await h.api.response(refused.responseId)).body.text).toContain('Member: Manage');
  });
});
