import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { WebClient } from '@slack/web-api';
import { loadingView } from '../../src/slack/blocks/invite-modal.js';
import { newTriggerId } from '../support/slack-payloads.js';
import { ADMIN, BOT_TOKEN, buttonFor, elementsOf, eventually, MEMBER_ADMIN, PLAIN, SlackWorld, STRANGER, textOf } from '../support/slack-world.js';

const DAY = 86_400_000;
const actor = { type: 'system' as const };
const REFUSAL = /You need the \*Member: Manage\* permission/;

describe.each(DIALECTS)('members, App Home and permissions (%s)', (dialect) => {
  let h: SlackWorld;
  let expiredId: string;
  let pendingId: string;

  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
    const { invites } = h.app.services;
    expiredId = (await invites.inviteMany({ emails: 'gone@corp.test', actor })).invitationIds[0]!;
    h.clock.advance(8 * DAY);
    pendingId = (await invites.inviteMany({ emails: 'waiting@corp.test', actor })).invitationIds[0]!;
  });
  afterAll(async () => {
    // On purpose: exchanged_trigger_id (a Copy link whose trigger was spent).
    expect(h.api.rejected('exchanged_trigger_id')).toEqual([]);
    await h.stop();
  });

  const reply = async (command: string, text = '', user = ADMIN) => {
    const { responseId } = await h.slash(`${command} ${text}`.trim(), user);
    return (await h.api.response(responseId)).body;
  };
  const memberByEmail = (email: string) => h.db.db('members').where({ email }).first();

  it('a member whose Slack email matches an admin may act, and gets linked to that Slack user', async () => {
    const body = await reply('members', '', MEMBER_ADMIN);
    expect(textOf(body)).toContain('*Members* (4)');
    expect((await memberByEmail('ada@corp.test')).slack_user_id).toBe(MEMBER_ADMIN);
  });

  it('refuses a plain member and a stranger on every command, action and submission, and changes nothing', async () => {
    // Real values, taken from what an admin sees.
    const table = await reply('invites', 'all');
    const expiredTable = await reply('invites', 'expired');
    const members = await reply('members');
    const summary = await reply('invite', 'waiting@corp.test');
    const pat = await memberByEmail('pat@corp.test');
    const roleSelect = elementsOf(members.blocks).find((e) => e.action_id.startsWith('member_role') && e.options[0].value.startsWith(pat.id));
    const clicks = [
      buttonFor(table.blocks, 'invite_resend', pendingId),
      buttonFor(table.blocks, 'invite_copy_link', pendingId),
      buttonFor(table.blocks, 'invite_revoke', pendingId),
      buttonFor(expiredTable.blocks, 'send_new_invitation', expiredId),
      { ...buttonFor(table.blocks, 'invites_filter'), type: 'static_select', selected_option: buttonFor(table.blocks, 'invites_filter').options[1] },
      { ...buttonFor(table.blocks, 'invites_sort'), type: 'static_select', selected_option: buttonFor(table.blocks, 'invites_sort').options[2] },
      { type: 'button', action_id: 'invites_page_1', value: 'all.created.desc.10' },
      { ...roleSelect, type: 'static_select', selected_option: roleSelect.options.find((o: any) => o.value.includes('.admin.')) },
      elementsOf(members.blocks).find((e) => e.action_id.startsWith('member_deactivate') && e.value.startsWith(pat.id)),
      { type: 'button', action_id: 'members_page_1', value: '15' },
      buttonFor(summary.blocks, 'invite_resend', pendingId),
    ];
    const covered = new Set(clicks.map((c) => c.action_id.replace(/_\d+$/, '')));
    expect([...covered].sort()).toEqual(['invite_copy_link', 'invite_resend', 'invite_revoke', 'invites_filter', 'invites_page', 'invites_sort', 'member_deactivate', 'member_role', 'members_page', 'send_new_invitation']);

    // The sweep has announced the expired invitation before anything is measured.
    await h.sweep();
    await h.settle(300);
    const before = { ...(await h.counts()), members: await h.db.db('members').select('id', 'role', 'state').orderBy('id'), mails: h.smtp.received.length };
    for (const user of [PLAIN, STRANGER]) {
      for (const [command, text] of [['invite', 'someone@corp.test'], ['', 'someone@corp.test'], ['invites', ''], ['invites', 'expired some'], ['members', '']]) {
        const body = await reply(command!, text, user);
        expect(body.text, `${user} ${command} ${text}`).toMatch(REFUSAL);
        expect(body.blocks ?? []).toEqual([]);
      }
      for (const click of clicks) {
        const { responseId } = await h.click(click, { user });
        const body = (await h.api.response(responseId)).body;
        expect(body.text, `${user} ${click.action_id}`).toMatch(REFUSAL);
        expect(body.replace_original).toBe(false);
        expect(JSON.stringify(body)).not.toContain('token=');
      }
      // From App Home, a row button: the refusal replaces the home tab.
      const homeResend = buttonFor(table.blocks, 'invite_resend', pendingId);
      const mark = h.api.calls.length;
      await h.click({ ...homeResend, value: homeResend.value.replace(/^t\./, 'h.') }, { user, home: true });
      const published = await h.api.waitFor(() => h.api.calls.slice(mark).find((c) => c.method === 'views.publish' && c.args.user_id === user));
      expect(textOf(published.args.view)).toMatch(REFUSAL);
      // The form opens for anyone (a trigger cannot wait on a permission check); the submission is refused in it.
      const opening = await h.slash('invite', user);
      await h.api.waitFor(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === opening.triggerId));
      const submitted = await h.submitInvite({ emails: 'someone@corp.test' }, { user });
      expect(submitted.json).toMatchObject({ response_action: 'update' });
      expect(textOf((submitted.json as any).view)).toMatch(REFUSAL);
      const homeMark = h.api.calls.length;
      await h.event({ type: 'app_home_opened', user, channel: 'D0', tab: 'home', event_ts: '1.2' });
      const home = await h.api.waitFor(() => h.api.calls.slice(homeMark).find((c) => c.method === 'views.publish' && c.args.user_id === user));
      expect(textOf(home.args.view)).toMatch(REFUSAL);
    }
    await h.settle(500);
    expect(h.api.callsTo('views.open').map((c) => c.args.view.callback_id)).toEqual(['invite_modal', 'invite_modal']);
    // Nothing was said to them outside their requests (the bootstrap admins' expiry notice is the sweep's).
    expect(h.api.callsTo('chat.postMessage').filter((c) => [PLAIN, STRANGER].includes(c.args.channel))).toEqual([]);
    expect({ ...(await h.counts()), members: await h.db.db('members').select('id', 'role', 'state').orderBy('id'), mails: h.smtp.received.length }).toEqual(before);
  });

  it('members lists name, email, role and state; admins change roles', async () => {
    const body = await reply('members');
    const text = textOf(body);
    expect(text).toContain('*Pat Plain* · pat@corp.test');
    expect(text).toMatch(/Member · Active/);
    const pat = await memberByEmail('pat@corp.test');
    const select = elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_role') && e.options[0].value.startsWith(pat.id));
    const { responseId } = await h.click({ ...select, type: 'static_select', selected_option: select.options.find((o: any) => o.value.includes('.developer.')) });
    const updated = (await h.api.response(responseId)).body;
    expect(updated.replace_original).toBe(true);
    expect(textOf(updated)).toContain('*Pat Plain* is now Developer');
    expect((await memberByEmail('pat@corp.test')).role).toBe('developer');
  });

  it('a role changed whose list cannot be drawn again (the database failing then): the clicker is told what was done, not that it may not have been', async () => {
    const body = await reply('members');
    const pat = await memberByEmail('pat@corp.test');
    const select = elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_role') && e.options[0].value.startsWith(pat.id));
    const failing = vi.spyOn(h.app.services.members, 'list').mockRejectedValue(new Error('the database is away'));
    try {
      const { responseId } = await h.click({ ...select, type: 'static_select', selected_option: select.options.find((o: any) => o.value.includes('.member.')) });
      const told = await h.api.waitFor(() => h.api.responsesTo(responseId).at(-1));
      expect(h.api.responsesTo(responseId)).toHaveLength(1);
      expect(told.body.replace_original).toBe(false);
      expect(textOf(told.body)).toContain('*Pat Plain* is now Member');
    } finally {
      failing.mockRestore();
    }
    expect((await memberByEmail('pat@corp.test')).role).toBe('member');
  });

  it('the last active admin can be neither demoted nor deactivated', async () => {
    // Ada is left the only active admin.
    for (const id of [h.ids.linked, h.ids.ops]) await h.services.members.deactivate(id, actor);
    const body = await reply('members');
    const ada = await memberByEmail('ada@corp.test');
    const select = elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_role') && e.options[0].value.startsWith(ada.id));
    const demote = await h.click({ ...select, type: 'static_select', selected_option: select.options.find((o: any) => o.value.includes('.member.')) });
    expect(textOf((await h.api.response(demote.responseId)).body)).toContain('last active admin');
    const deactivate = elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_deactivate') && e.value.startsWith(ada.id));
    expect(deactivate.confirm).toBeTruthy();
    const off = await h.click(deactivate);
    expect(textOf((await h.api.response(off.responseId)).body)).toContain('last active admin');
    expect(await memberByEmail('ada@corp.test')).toMatchObject({ role: 'admin', state: 'active' });
  });

  it('a promotion lets that member in once the brief permission cache has passed; deactivate works', async () => {
    const body = await reply('members');
    const pat = await memberByEmail('pat@corp.test');
    const select = elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_role') && e.options[0].value.startsWith(pat.id));
    const promote = await h.click({ ...select, type: 'static_select', selected_option: select.options.find((o: any) => o.value.includes('.admin.')) });
    expect(textOf((await h.api.response(promote.responseId)).body)).toContain('is now Admin');
    h.clock.advance(61_000);
    expect(textOf(await reply('members', '', PLAIN))).toContain('*Members*');
    // Now Ada is not the last admin: she can be deactivated. She has just been let in (her answer is kept).
    expect(textOf(await reply('members', '', MEMBER_ADMIN))).toContain('*Members*');
    const ada = await memberByEmail('ada@corp.test');
    const deactivate = elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_deactivate') && e.value.startsWith(ada.id));
    const off = await h.click(deactivate, { user: PLAIN });
    expect(textOf((await h.api.response(off.responseId)).body)).toContain('*Ada Admin* is deactivated');
    expect((await memberByEmail('ada@corp.test')).state).toBe('deactivated');
    // A deactivated admin is refused from then on: at once in this instance (its kept answer is dropped).
    expect((await reply('members', '', MEMBER_ADMIN)).text).toMatch(REFUSAL);
  });

  it('Deactivate from a list drawn before the member was deactivated and came back (a new invitation) changes nothing and says so; a list drawn since deactivates', async () => {
    const { member } = await h.services.members.create({ email: 'back@corp.test', role: 'member' }, actor);
    const stale = await reply('members', '', PLAIN);
    const button = (body: any) => elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_deactivate') && e.value.startsWith(member.id));
    expect(button(stale)).toBeTruthy();
    h.clock.advance(1_000);
    await h.services.members.deactivate(member.id, actor);
    h.clock.advance(1_000);
    await h.services.db.transaction((trx) => h.services.members.admit(trx, { email: 'back@corp.test', role: 'member', firstName: 'Back', lastName: 'Again', passwordHash: 'x' }, h.clock.now()));
    const off = await h.click(button(stale), { user: PLAIN });
    expect(textOf((await h.api.response(off.responseId)).body)).toContain('Back Again was deactivated and came back since this list was drawn, so nothing was changed');
    expect((await memberByEmail('back@corp.test')).state).toBe('active');
    h.clock.advance(1_000);
    const fresh = await reply('members', '', PLAIN);
    const again = await h.click(button(fresh), { user: PLAIN });
    expect(textOf((await h.api.response(again.responseId)).body)).toContain('*Back Again* is deactivated');
    expect((await memberByEmail('back@corp.test')).state).toBe('deactivated');
  });

  it('an admin demoted elsewhere (the CLI, another instance) is refused at their next change at once, though this instance still keeps their answer', async () => {
    await h.services.members.create({ email: 'zed@corp.test', role: 'admin' }, actor);
    const body = await reply('members', '', PLAIN);
    const pat = await memberByEmail('pat@corp.test');
    expect(pat.role).toBe('admin');
    await h.services.members.setRole(pat.id, 'member', actor);
    // Within the minute Pat's answer is kept: making himself admin again is refused all the same.
    const select = elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_role') && e.options[0].value.startsWith(pat.id));
    const again = await h.click({ ...select, type: 'static_select', selected_option: select.options.find((o: any) => o.value.includes('.admin.')) }, { user: PLAIN });
    expect(textOf((await h.api.response(again.responseId)).body)).toMatch(REFUSAL);
    expect((await memberByEmail('pat@corp.test')).role).toBe('member');
  });

  it('a role chosen again after another (Developer, Member, Developer) within the double-click window is applied, not dropped as a repeat', async () => {
    const body = await reply('members');
    const pat = await memberByEmail('pat@corp.test');
    const select = elementsOf(body.blocks).find((e) => e.action_id.startsWith('member_role') && e.options[0].value.startsWith(pat.id));
    for (const [role, label] of [['developer', 'Developer'], ['member', 'Member'], ['developer', 'Developer']] as const) {
      const chosen = await h.click({ ...select, type: 'static_select', selected_option: select.options.find((o: any) => o.value.includes(`.${role}.`)) });
      expect(textOf((await h.api.response(chosen.responseId)).body)).toContain(`*Pat Plain* is now ${label}`);
    }
    expect((await memberByEmail('pat@corp.test')).role).toBe('developer');
  });

  it('App Home shows counts, the latest pending and expired invitations with their buttons, and Invite people', async () => {
    const eventId = 'EvHOME1';
    await h.event({ type: 'app_home_opened', user: ADMIN, channel: 'D0', tab: 'home', event_ts: '1.2' }, { eventId });
    // Slack redelivers the same event: one publish only.
    await h.event({ type: 'app_home_opened', user: ADMIN, channel: 'D0', tab: 'home', event_ts: '1.2' }, { eventId, retryNum: 1 });
    await h.event({ type: 'app_home_opened', user: ADMIN, channel: 'D0', tab: 'home', event_ts: '1.2' }, { eventId, retryNum: 2 });
    const publish = await h.api.waitFor(() => h.api.callsTo('views.publish').find((c) => c.args.user_id === ADMIN));
    await h.settle(300);
    expect(h.api.callsTo('views.publish').filter((c) => c.args.user_id === ADMIN)).toHaveLength(1);
    const view = publish.args.view;
    expect(view.type).toBe('home');
    const text = textOf(view);
    expect(text).toMatch(/\*Pending\*\n1/);
    expect(text).toMatch(/\*Expired\*\n1/);
    expect(text).toContain('waiting@corp.test');
    expect(text).toContain('gone@corp.test');
    expect(buttonFor(view.blocks, 'send_new_invitation', expiredId)).toBeTruthy();
    const invite = buttonFor(view.blocks, 'open_invite_modal');

    const opened = await h.click(invite, { home: true, triggerId: 'trigger.home-modal' });
    expect(opened.ack.status).toBe(200);
    const modal = await h.api.waitFor(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === 'trigger.home-modal'));
    expect(modal.args.view.callback_id).toBe('invite_modal');

    // Copy link from Home: a modal only the clicker sees, opened first and then filled; never a lasting message.
    const copy = await h.click(buttonFor(view.blocks, 'invite_copy_link', pendingId), { home: true });
    const loading = await h.api.waitFor(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === copy.payload.trigger_id));
    expect(JSON.stringify(loading.args.view)).not.toContain('token=');
    const filled = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => JSON.stringify(c.args.view).includes('token=')));
    const link = /http:\/\/doorman\.test\/invite\?token=[\w-]+/.exec(JSON.stringify(filled.args.view))![0];
    expect((await h.app.services.invites.lookupToken(new URL(link).searchParams.get('token'))).email).toBe('waiting@corp.test');
    expect(h.api.callsTo('chat.postMessage').filter((c) => JSON.stringify(c.args).includes('token='))).toEqual([]);

    // Resend from Home re-publishes Home with what happened.
    const sent = (await h.emailed('waiting@corp.test', 1)).length;
    await h.click(buttonFor(view.blocks, 'invite_resend', pendingId), { home: true });
    const again = await h.api.waitFor(() => h.api.callsTo('views.publish').find((c) => textOf(c.args.view).includes('Sent the invitation to *waiting@corp.test* again')));
    expect(again.args.user_id).toBe(ADMIN);
    await eventually(() => h.smtp.to('waiting@corp.test').length === sent + 1);
  });

  it('Copy link from Home whose window Slack opened without saying so (its trigger spent): the clicker is told to press again, never sent the link', async () => {
    const home = [...h.api.callsTo('views.publish')].reverse().find((c) => JSON.stringify(c.args.view.blocks).includes('"invite_copy_link'))!;
    const copy = elementsOf(home.args.view.blocks).find((e) => e.action_id.startsWith('invite_copy_link'));
    // A first try opened the window, but its answer was lost: the trigger is spent.
    const triggerId = h.api.issueTrigger(newTriggerId());
    await new WebClient(BOT_TOKEN, { slackApiUrl: `${h.api.url}/`, retryConfig: { retries: 0 } }).views.open({ trigger_id: triggerId, view: loadingView('Invitation link') });
    await h.click(copy, { home: true, triggerId });
    const told = await h.api.waitFor(() => h.api.callsTo('chat.postMessage').find((c) => c.args.channel === ADMIN && textOf(c.args).includes('press Copy link again')));
    expect(JSON.stringify(told.args)).not.toContain('token=');
  });

  it('Copy link from Home delivered twice (a retry of the same click): one window, nothing more said', async () => {
    const home = [...h.api.callsTo('views.publish')].reverse().find((c) => JSON.stringify(c.args.view.blocks).includes('"invite_copy_link'))!;
    const copy = elementsOf(home.args.view.blocks).find((e) => e.action_id.startsWith('invite_copy_link'));
    const dms = () => h.api.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === ADMIN).length;
    const before = dms();
    const triggerId = newTriggerId();
    await h.click(copy, { home: true, triggerId });
    await h.click(copy, { home: true, triggerId });
    await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => JSON.stringify(c.args.view).includes('token=') && c.at > home.at));
    await h.settle();
    expect(h.api.calls.filter((c) => c.method === 'views.open' && c.args.trigger_id === triggerId)).toHaveLength(1);
    expect(dms()).toBe(before);
  });

  it('survives Slack rate limiting and server errors on the Web API', async () => {
    const mark = h.api.calls.length;
    h.api.fail('views.publish', 429, { retryAfter: 1 });
    h.api.fail('views.publish', 500);
    await h.event({ type: 'app_home_opened', user: ADMIN, channel: 'D0', tab: 'home', event_ts: '1.3' });
    await h.api.waitFor(() => h.api.calls.slice(mark).find((c) => c.method === 'views.publish' && c.ok), 10_000);
    expect(h.api.calls.slice(mark).filter((c) => c.method === 'views.publish').map((c) => c.error ?? 'ok')).toEqual(['ratelimited', 'internal_error', 'ok']);
  });
  it('App Home lists the latest expired by when they expired, not when they were sent', async () => {
    const { invites } = h.app.services;
    await invites.inviteMany({ emails: 'long.ttl@corp.test', actor, expiresInDays: 30 });
    h.clock.advance(20 * DAY);
    await invites.inviteMany({ emails: 'short.ttl@corp.test', actor, expiresInDays: 1 });
    h.clock.advance(11 * DAY);
    const mark = h.api.calls.length;
    await h.event({ type: 'app_home_opened', user: ADMIN, channel: 'D0', tab: 'home', event_ts: '1.9' });
    const publish = await h.api.waitFor(() => h.api.calls.slice(mark).find((c) => c.method === 'views.publish' && c.ok), 10_000);
    const text = textOf(publish.args.view);
    // Sent first, expired last (day 30, against day 21): it comes first.
    expect(text.indexOf('long.ttl@corp.test')).toBeGreaterThan(-1);
    expect(text.indexOf('long.ttl@corp.test')).toBeLessThan(text.indexOf('short.ttl@corp.test'));
  });
});
