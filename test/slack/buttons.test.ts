import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeTable, encodeTable } from '../../src/slack/action-values.js';
import { DIALECTS } from '../support/db.js';
import { newTriggerId } from '../support/slack-payloads.js';
import { FORM, interactionBody } from '../support/slack-sign.js';
import { ADMIN, buttonFor, elementsOf, eventually, SlackWorld, textOf } from '../support/slack-world.js';

const DAY = 86_400_000;
const actor = { type: 'system' as const };

describe.each(DIALECTS)('the invitations table and its buttons, end to end (%s)', (dialect) => {
  let h: SlackWorld;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
    const { invites } = h.app.services;
    const old = await invites.inviteMany({ emails: 'exp1@corp.test, exp2@corp.test', actor });
    [ids.exp1, ids.exp2] = old.invitationIds as [string, string];
    await eventually(() => h.smtp.received.length >= 2, 15_000, 'the first emails');
    h.clock.advance(8 * DAY);
    for (let i = 0; i < 12; i++) {
      const s = await invites.inviteMany({ emails: `p${String(i).padStart(2, '0')}@corp.test`, actor });
      ids[`p${i}`] = s.invitationIds[0]!;
      h.clock.advance(60_000);
    }
    await eventually(() => h.smtp.received.length >= 14, 15_000, 'the setup emails');
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  const mails = (email: string) => h.smtp.to(email).length;
  const table = async (text = '') => {
    const { responseId } = await h.slash(`invites ${text}`);
    const answer = await h.api.response(responseId);
    // The table comes in the ack itself: one round trip, nothing posted to response_url after it.
    expect(answer.via).toBe('ack');
    return answer.body;
  };

  it('renders pending invitations ten to a page, with dates in each viewer\'s time zone, sort and filter controls', async () => {
    const body = await table();
    expect(body.response_type).toBe('ephemeral');
    const text = textOf(body);
    expect(text).toContain('Invitations — Pending');
    expect(text).toContain('Showing 1–10 of 12');
    expect(text).toMatch(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>/);
    // Newest first by default: p11 leads.
    expect(text.indexOf('p11@corp.test')).toBeLessThan(text.indexOf('p10@corp.test'));
    expect(text).not.toContain('p01@corp.test');
    const sort = buttonFor(body.blocks, 'invites_sort');
    expect(sort.options).toHaveLength(8);
    const filter = buttonFor(body.blocks, 'invites_filter');
    expect(filter.options.map((o: any) => o.value.split('.')[0])).toEqual(['pending', 'expired', 'awaiting_approval', 'accepted', 'revoked', 'all']);
    expect(elementsOf(body.blocks).filter((e) => e.action_id.startsWith('invite_resend'))).toHaveLength(10);
    const revoke = buttonFor(body.blocks, 'invite_revoke');
    expect(revoke.confirm.title.text).toMatch(/Revoke/);
  });

  it('pages with Next and Prev, replacing the message', async () => {
    const first = await table();
    const next = await h.click(buttonFor(first.blocks, 'invites_page'));
    const page2 = (await h.api.response(next.responseId)).body;
    expect(page2.replace_original).toBe(true);
    expect(textOf(page2)).toContain('Showing 11–12 of 12');
    expect(textOf(page2)).toContain('p00@corp.test');
    const prev = await h.click(buttonFor(page2.blocks, 'invites_page'));
    expect(textOf((await h.api.response(prev.responseId)).body)).toContain('Showing 1–10 of 12');
  });

  it('a page whose rows are all gone since (nothing matches any more) goes back to the first, saying there are none, with no Prev', async () => {
    const first = await table();
    const next = buttonFor(first.blocks, 'invites_page');
    // The same Next, for a search that no longer matches anything.
    const gone = await h.click({ ...next, value: encodeTable({ ...decodeTable(next.value)!, search: 'nobody-matches-this' }) });
    const page = (await h.api.response(gone.responseId)).body;
    expect(textOf(page)).toContain('No pending invitations.');
    expect(textOf(page)).toContain('Showing 0–0 of 0');
    expect(elementsOf(page.blocks).some((e) => e.action_id.startsWith('invites_page'))).toBe(false);
  });

  it('sorts by every column both ways', async () => {
    const first = await table('all');
    const sort = buttonFor(first.blocks, 'invites_sort');
    const chosen = async (label: RegExp) => {
      const option = sort.options.find((o: any) => label.test(o.text.text));
      const click = await h.click({ ...sort, type: 'static_select', value: undefined, selected_option: option });
      return textOf((await h.api.response(click.responseId)).body);
    };
    const az = await chosen(/Email: A → Z/);
    expect(az.indexOf('exp1@corp.test')).toBeLessThan(az.indexOf('p00@corp.test'));
    const za = await chosen(/Email: Z → A/);
    expect(za.indexOf('p11@corp.test')).toBeLessThan(za.indexOf('p10@corp.test'));
    expect(za).not.toContain('exp1@corp.test'); // on page 2 now
    const expiresSoonest = await chosen(/Expires: soonest/);
    expect(expiresSoonest.indexOf('exp1@corp.test')).toBeGreaterThan(-1);
    const statusDesc = await chosen(/Status: revoked first/);
    expect(statusDesc.indexOf('exp1@corp.test')).toBeLessThan(statusDesc.indexOf('p05@corp.test') === -1 ? Infinity : statusDesc.indexOf('p05@corp.test'));
    for (const label of [/Invited: oldest/, /Invited: newest/, /Expires: latest/, /Status: awaiting, pending first/]) expect(await chosen(label)).toContain('Showing 1–10 of 14');
  });

  it('filters by status, from the select and from the command argument', async () => {
    const first = await table();
    const filter = buttonFor(first.blocks, 'invites_filter');
    const click = await h.click({ ...filter, type: 'static_select', selected_option: filter.options.find((o: any) => o.value.startsWith('expired.')) });
    const expired = (await h.api.response(click.responseId)).body;
    const text = textOf(expired);
    expect(text).toContain('exp1@corp.test');
    expect(text).not.toContain('p00@corp.test');
    expect(elementsOf(expired.blocks).map((e) => e.action_id.replace(/_\d+$/, ''))).toEqual(expect.arrayContaining(['send_new_invitation', 'invite_revoke']));
    expect(elementsOf(expired.blocks).some((e) => e.action_id.startsWith('invite_resend') || e.action_id.startsWith('invite_copy_link'))).toBe(false);
    expect(textOf(await table('expired'))).toContain('exp2@corp.test');
    // Text after the status searches the addresses; the search stays through paging and filtering.
    const searched = await table('all exp');
    expect(textOf(searched)).toContain('matching “exp”');
    expect(textOf(searched)).toContain('Showing 1–2 of 2');
    expect(textOf(await table('nobody-like-this'))).toContain('No invitations.');
    const searchFilter = buttonFor(searched.blocks, 'invites_filter');
    const narrowed = await h.click({ ...searchFilter, type: 'static_select', selected_option: searchFilter.options.find((o: any) => o.value.startsWith('pending.')) });
    expect(textOf((await h.api.response(narrowed.responseId)).body)).toMatch(/matching “exp”[^]*No pending invitations/);
  });

  it('Resend mails the same link again and updates the message in place', async () => {
    const body = await table();
    await h.emailed('p11@corp.test', 1);
    const click = await h.click(buttonFor(body.blocks, 'invite_resend', ids.p11));
    const updated = (await h.api.response(click.responseId)).body;
    expect(updated.replace_original).toBe(true);
    expect(textOf(updated)).toContain('Sent the invitation to *p11@corp.test* again');
    const [first, again] = await eventually(() => mails('p11@corp.test') === 2 && h.smtp.to('p11@corp.test'));
    expect(again!.link).toBe(first!.link);
  });

  it('a page that cannot be read (the database failing) tells the clicker something went wrong, not silence', async () => {
    const first = await table();
    const failing = vi.spyOn(h.app.services.invites, 'listWithCounts').mockRejectedValue(new Error('the database is away'));
    try {
      const next = await h.click(buttonFor(first.blocks, 'invites_page'));
      expect(next.ack.status).toBe(200);
      expect(textOf((await h.api.response(next.responseId)).body)).toContain('Something went wrong on our side');
    } finally {
      failing.mockRestore();
    }
  });

  it('Resend done but the table not drawn again (the database failing then): the clicker is told what was done', async () => {
    const body = await table();
    await h.emailed('p10@corp.test', 1);
    const failing = vi.spyOn(h.app.services.invites, 'listWithCounts').mockRejectedValue(new Error('the database is away'));
    try {
      const click = await h.click(buttonFor(body.blocks, 'invite_resend', ids.p10));
      const told = (await h.api.response(click.responseId)).body;
      expect(told.replace_original).toBe(false);
      expect(textOf(told)).toContain('Sent the invitation to *p10@corp.test* again');
    } finally {
      failing.mockRestore();
    }
    await h.emailed('p10@corp.test', 2);
  });

  it('Copy link shows the link only to the clicker, unfurling off, and the link works', async () => {
    const body = await table();
    const click = await h.click(buttonFor(body.blocks, 'invite_copy_link', ids.p10));
    const reply = (await h.api.response(click.responseId)).body;
    expect(reply).toMatchObject({ response_type: 'ephemeral', replace_original: false, unfurl_links: false, unfurl_media: false });
    const link = /http:\/\/doorman\.test\/invite\?token=[\w-]+/.exec(reply.text)![0];
    const token = new URL(link).searchParams.get('token');
    expect((await h.app.services.invites.lookupToken(token)).email).toBe('p10@corp.test');
  });

  it('Revoke kills the link at once and says so', async () => {
    const { link } = await h.app.services.invites.copyLink(ids.p9!);
    const body = await table();
    const click = await h.click(buttonFor(body.blocks, 'invite_revoke', ids.p9));
    const updated = (await h.api.response(click.responseId)).body;
    expect(textOf(updated)).toContain('Revoked the invitation for *p09@corp.test*');
    expect(textOf(updated)).not.toMatch(/p09@corp\.test\*\\n/); // gone from the pending list
    await expect(h.app.services.invites.lookupToken(new URL(link).searchParams.get('token'))).rejects.toMatchObject({ code: 'invite_revoked' });
  });

  it('Send new invitation kills the old link and mails a new one', async () => {
    const oldToken = (await h.db.db('invitations').where({ id: ids.exp1 }).first()).token_hash;
    const before = mails('exp1@corp.test');
    const body = await table('expired');
    const click = await h.click(buttonFor(body.blocks, 'send_new_invitation', ids.exp1));
    expect(textOf((await h.api.response(click.responseId)).body)).toContain('Sent a new invitation to *exp1@corp.test*');
    const latest = await eventually(() => mails('exp1@corp.test') === before + 1 && h.smtp.to('exp1@corp.test').at(-1));
    expect((await h.app.services.invites.lookupToken(latest.token)).email).toBe('exp1@corp.test');
    const first = h.smtp.to('exp1@corp.test')[0]!;
    await expect(h.app.services.invites.lookupToken(first.token)).rejects.toMatchObject({ code: 'link_replaced' });
    expect((await h.db.db('invitations').where({ id: ids.exp1 }).first()).token_hash).not.toBe(oldToken);
  });

  it('a button on a stale message answers with the current state, never an error', async () => {
    const body = await table();
    const resend = buttonFor(body.blocks, 'invite_resend', ids.p8);
    const copy = buttonFor(body.blocks, 'invite_copy_link', ids.p8);
    await h.app.services.invites.revoke(ids.p8!, actor);
    const sent = mails('p08@corp.test');
    for (const button of [resend, copy]) {
      const click = await h.click(button);
      expect(click.ack.status).toBe(200);
      const reply = (await h.api.response(click.responseId)).body;
      expect(textOf(reply)).toContain('The invitation for *p08@corp.test* was already revoked; nothing to do.');
    }
    // A value that does not parse (tampered or from an old version) is refused politely.
    const tampered = await h.click({ ...resend, value: 't.invite_x;drop.pending.created.desc.0' });
    expect(textOf((await h.api.response(tampered.responseId)).body)).toContain('out of date');
    await h.settle();
    expect(mails('p08@corp.test')).toBe(sent);
  });

  it('the same click delivered three times (X-Slack-Retry-Num) sends one email', async () => {
    const body = await table();
    const button = buttonFor(body.blocks, 'invite_resend', ids.p7);
    await h.emailed('p07@corp.test', 1);
    const first = await h.click(button, { triggerId: 'trigger.retry-1', responseId: 'retry-click' });
    const payload = first.payload;
    for (const retryNum of [1, 2]) {
      const again = await h.rawPost(interactionBody(payload), FORM, { retryNum });
      expect(again.status).toBe(200);
    }
    await h.api.response('retry-click');
    await eventually(() => mails('p07@corp.test') === 2);
    await h.settle(300);
    expect(mails('p07@corp.test')).toBe(2);
    expect(h.api.responsesTo('retry-click')).toHaveLength(1);
    expect(await h.db.db('audit_log').where({ action: 'resend', subject_id: ids.p7 }).count<{ n: number }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(1);
  });

  it('a slash command retried three times invites once', async () => {
    const body = { triggerId: newTriggerId(), responseId: 'cmd-retry' };
    await h.slash('invite retried@corp.test', ADMIN, body);
    await h.slash('invite retried@corp.test', ADMIN, { ...body, retryNum: 1 });
    await h.slash('invite retried@corp.test', ADMIN, { ...body, retryNum: 2 });
    await h.api.response('cmd-retry');
    await h.settle(500);
    expect(h.api.responsesTo('cmd-retry')).toHaveLength(1);
    expect(textOf(h.api.responsesTo('cmd-retry')[0]!.body)).toContain('Sent 1 invitation');
    await eventually(() => mails('retried@corp.test') === 1);
    await h.settle(300);
    expect(mails('retried@corp.test')).toBe(1);
  });

  it('a double click (two requests, one value) sends one email', async () => {
    const body = await table();
    const button = buttonFor(body.blocks, 'invite_resend', ids.p6);
    await h.emailed('p06@corp.test', 1);
    const [a, b] = await Promise.all([h.click(button), h.click(button)]);
    expect([a.ack.status, b.ack.status]).toEqual([200, 200]);
    await h.emailed('p06@corp.test', 2);
    await h.settle(300);
    expect(mails('p06@corp.test')).toBe(2);
    // One resend stored: the second click changed nothing, whenever its email would have come.
    expect(await h.db.db('audit_log').where({ action: 'resend', subject_id: ids.p6 }).count<{ n: number }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(1);
    // Once the double-click window has passed, a deliberate second resend works.
    h.clock.advance(11_000);
    const later = await h.click(button);
    await h.api.response(later.responseId);
    await eventually(() => mails('p06@corp.test') === 3);
  });

  it('a Revoke from a row drawn before a colleague sent a new invitation revokes nothing, says so, and shows the row as it is; a second click revokes', async () => {
    const { invites } = h.app.services;
    const [id] = (await invites.inviteMany({ emails: 'stale.row@corp.test', actor, expiresInDays: 1 })).invitationIds;
    h.clock.advance(DAY + 60_000);
    const drawn = await table('all stale.row');
    const revoke = buttonFor(drawn.blocks, 'invite_revoke', id);
    // Meanwhile a colleague sends a new invitation.
    h.clock.advance(60_000);
    await invites.renew(id!, actor);
    const click = await h.click(revoke);
    const answer = (await h.api.response(click.responseId)).body;
    expect(textOf(answer)).toContain('*stale.row@corp.test* was sent again since this was shown (it is pending now), so nothing was revoked.');
    expect((await invites.get(id!)).status).toBe('pending');
    // The row drawn now carries the new sending: its Revoke revokes.
    const again = await h.click(buttonFor(answer.blocks, 'invite_revoke', id));
    expect(textOf((await h.api.response(again.responseId)).body)).toContain('Revoked the invitation for *stale.row@corp.test*');
    expect((await invites.get(id!)).status).toBe('revoked');
  });

  it('Next after people were invited meanwhile shows the rows that followed the page, none twice and none missed', async () => {
    const { invites } = h.app.services;
    const before = (await invites.list({ status: 'pending', sort: 'created', order: 'desc', limit: 20 })).invitations.map((i) => i.email);
    const emailsOf = (body: Record<string, any>) => [...textOf(body).matchAll(/\*([^*\s]+@corp\.test)\*/g)].map((m) => m[1]);
    const first = await table();
    expect(emailsOf(first)).toEqual(before.slice(0, 10));
    h.clock.advance(60_000);
    await invites.inviteMany({ emails: 'late1@corp.test, late2@corp.test, late3@corp.test', actor });
    const next = await h.click(buttonFor(first.blocks, 'invites_page'));
    const page2 = (await h.api.response(next.responseId)).body;
    expect(emailsOf(page2)).toEqual(before.slice(10, 20));
    // A Next whose cursor is not this order's (forged, or from another sort) starts at its offset instead.
    const forged = await h.click({ ...buttonFor(first.blocks, 'invites_page'), value: encodeTable({ ...decodeTable(buttonFor(first.blocks, 'invites_page').value)!, cursor: 'bm90LWEtY3Vyc29y' }) });
    expect(textOf((await h.api.response(forged.responseId)).body)).toMatch(/Showing 11–\d+ of/);
  });
});
