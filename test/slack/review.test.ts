import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { blockActionsPayload, clickedAction, newTriggerId } from '../support/slack-payloads.js';
import { inviteModal } from '../../src/slack/blocks/invite-modal.js';
import { ADMIN, buttonFor, eventually, LINKED, pause, SlackWorld, SYSTEM_ACTOR, textOf, type FormInput } from '../support/slack-world.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('the invite form: review before sending, choices per invitation (%s)', (dialect) => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start(dialect, { logLevel: 'error' });
    h.api.registerView('V0MODAL', { hash: 'h1' });
    h.api.users.set('U0PICK', { email: 'picked.person@corp.test', name: 'Picked Person' });
    const { invites } = h.services;
    await invites.inviteMany({ emails: 'old.expired@corp.test', actor: { type: 'system' } });
    await eventually(() => h.smtp.received.length >= 1, 10_000, 'the first email');
    h.clock.advance(8 * DAY);
    await invites.inviteMany({ emails: 'still.pending@corp.test', actor: { type: 'system' } });
    await h.emailed('still.pending@corp.test', 1);
    // The expiry of the first is announced now, not by the running sweep during a test that counts rows.
    await h.sweep();
    await h.settled();
  });
  afterAll(async () => {
    // On purpose: user_not_visible (a person Slack does not show to the app), and the one
    // hash_conflict of Back on a review drawn again (counted there).
    expect(h.api.rejected('user_not_visible', 'hash_conflict')).toEqual([]);
    expect(h.api.calls.filter((c) => c.error === 'hash_conflict')).toHaveLength(1);
    await h.stop();
  });

  /** The form submitted: answers the review view (and its draft id). */
  const submitForm = async (input: FormInput, user?: string) => {
    const res = await h.submitInvite(input, { user });
    expect(res.status).toBe(200);
    return res.json as { response_action: string; view: any; errors?: Record<string, string> };
  };
  const send = (draftId: string, resendInvited = false) => h.sendReview(draftId, { resendInvited });
  /**
   * A trigger that makes the database refuse writes to invitations matching `when` (SQL on NEW and OLD),
   * as a failure would; answers its removal.
   */
  const refuseWrites = async (name: string, event: 'INSERT' | 'UPDATE', when: string) => {
    const { db } = h.db;
    if (dialect === 'pg') {
      await db.raw(`CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN IF ${when} THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
      await db.raw(`CREATE TRIGGER ${name} BEFORE ${event} ON invitations FOR EACH ROW EXECUTE FUNCTION ${name}()`);
      return async () => {
        await db.raw(`DROP TRIGGER ${name} ON invitations`);
        await db.raw(`DROP FUNCTION ${name}()`);
      };
    }
    await db.raw(`CREATE TRIGGER ${name} BEFORE ${event} ON invitations WHEN ${when} BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`);
    return async () => void (await db.raw(`DROP TRIGGER ${name}`));
  };

  it('shows what sending would do, group by group, with likely typos, and sends nothing yet', async () => {
    const before = await h.counts();
    const answer = await submitForm({ emails: 'new.one@corp.test, jane@gmial.com, old.expired@corp.test, still.pending@corp.test, pat@corp.test, not-an-address' });
    expect(answer.response_action).toBe('update');
    const view = answer.view;
    expect(view.callback_id).toBe('invite_review');
    const text = textOf(view);
    // A likely typo first in its group.
    expect(text).toMatch(/\*New \(2\)\*[^]*jane@gmial\.com — did you mean \*jane@gmail\.com\*\?[^]*new\.one@corp\.test/);
    expect(text).toMatch(/\*Will renew[^]*\(1\)\*[^]*old\.expired@corp\.test/);
    expect(text).toMatch(/\*Already invited[^]*\(1\)\*[^]*still\.pending@corp\.test/);
    expect(text).toMatch(/\*Already members \(skipped\) \(1\)\*[^]*pat@corp\.test/);
    expect(text).toMatch(/\*Not valid \(skipped\) \(1\)\*[^]*not-an-address[^]*no @/);
    expect(view.submit.text).toBe('Send 3 invitations');
    expect(view.blocks.some((b: any) => b.type === 'input' && b.element.type === 'checkboxes')).toBe(true);
    await h.settle();
    expect(await h.counts()).toEqual(before);
  });

  it('Back returns to the form as typed, choices kept', async () => {
    // Names with their addresses, as the form's hint offers: a form field arrives as typed (no
    // entities, no <mailto:> markup), so its angle brackets are the person's own.
    const typed = 'Back One <back.one@corp.test>\n"Two, Back" <back.two@corp.test>';
    const answer = await submitForm({ emails: typed, role: 'developer', expiry: '14', message: 'Welcome aboard' });
    expect(textOf(answer.view)).toMatch(/New \(2\)[^]*back\.one@corp\.test[^]*back\.two@corp\.test/);
    expect(textOf(answer.view)).not.toContain('Not valid');
    const back = buttonFor(answer.view.blocks, 'review_back');
    const payload = blockActionsPayload({ user: ADMIN, triggerId: newTriggerId(), action: clickedAction(back), surface: { in: 'home' } });
    (payload as any).view = { ...answer.view, id: 'V0MODAL', hash: h.api.viewHash('V0MODAL') };
    (payload as any).container = { type: 'view', view_id: 'V0MODAL' };
    expect((await h.interaction(payload)).status).toBe(200);
    const update = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => c.args.view?.callback_id === 'invite_modal'));
    const blocks = Object.fromEntries(update.args.view.blocks.map((b: any) => [b.block_id, b.element]));
    expect(blocks.emails.initial_value).toBe(typed);
    expect(blocks.role.initial_option.value).toBe('developer');
    expect(blocks.expiry.initial_option.value).toBe('14');
    expect(blocks.message.initial_value).toBe('Welcome aboard');
    h.api.registerView('V0MODAL', { hash: 'h1' });
  });

  it('Back while the people picked are still being looked up: the form stays, the review is not drawn over it again', async () => {
    h.api.delay('users.info', 1_500);
    try {
      const answer = await submitForm({ emails: 'race.one@corp.test', users: ['U0PICK'] });
      expect(textOf(answer.view)).toContain('Looking up 1 person from Slack');
      const back = buttonFor(answer.view.blocks, 'review_back');
      const payload = blockActionsPayload({ user: ADMIN, triggerId: newTriggerId(), action: clickedAction(back), surface: { in: 'home' } });
      (payload as any).view = { ...answer.view, id: 'V0MODAL', hash: h.api.viewHash('V0MODAL') };
      (payload as any).container = { type: 'view', view_id: 'V0MODAL' };
      expect((await h.interaction(payload)).status).toBe(200);
      const form = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => c.args.view?.callback_id === 'invite_modal' && textOf(c.args.view).includes('race.one')));
      await pause(2_500);
      expect(h.api.callsTo('views.update').filter((c) => c.at >= form.at && c.args.view?.callback_id === 'invite_review')).toEqual([]);
    } finally {
      h.api.delay('users.info', 0);
      h.api.registerView('V0MODAL', { hash: 'h1' });
    }
  });

  /** What the modal shows now: the last update Slack took (calls are recorded as they are answered, so in the order they took effect). */
  const shown = () => h.api.calls.filter((c) => c.method === 'views.update' && c.ok && c.args.view_id === 'V0MODAL').at(-1)?.args.view;
  /** Holds the lookup's redraw of the review at Slack until `click` is done, so that what it sends overtakes the redraw. */
  const holdingTheRedraw = async (typed: string, person: string, click: (answer: { view: any; draftId: string }) => Promise<void>) => {
    h.api.users.set(person, { email: `${person.toLowerCase()}@corp.test`, name: 'Crossed Pick' });
    const release = h.api.hold('views.update', (args) => args.view?.callback_id === 'invite_review' && textOf(args.view).includes(typed));
    try {
      const answer = await submitForm({ emails: typed, users: [person] });
      await h.api.waitFor(() => h.api.waiting('views.update') > 0, 5_000, 'the redraw held at Slack');
      const draftId = answer.view.private_metadata as string;
      await click({ view: answer.view, draftId });
      // The click has ended the review (Back draws the form after that: the click waits for it).
      await eventually(async () => (await h.db.db('invite_drafts').where({ id: draftId }).first('ended'))?.ended, 5_000, 'the review ended');
    } finally {
      release();
    }
  };
  const updatesOf = (typed: string) => h.api.calls.filter((c) => c.method === 'views.update' && c.ok && c.args.view_id === 'V0MODAL' && textOf(c.args.view).includes(typed));

  it('Back while the redraw with the people picked is on its way to Slack: the form is drawn again after it', async () => {
    try {
      await holdingTheRedraw('crossed.back@corp.test', 'U0CROSSB', async ({ view }) => {
        const back = buttonFor(view.blocks, 'review_back');
        const payload = blockActionsPayload({ user: ADMIN, triggerId: newTriggerId(), action: clickedAction(back), surface: { in: 'home' } });
        (payload as any).view = { ...view, id: 'V0MODAL', hash: h.api.viewHash('V0MODAL') };
        (payload as any).container = { type: 'view', view_id: 'V0MODAL' };
        expect((await h.interaction(payload)).status).toBe(200);
        await eventually(() => updatesOf('crossed.back@corp.test').some((c) => c.args.view.callback_id === 'invite_modal'), 5_000, 'the form drawn by Back');
      });
      // The held review is taken over the form, and the form is drawn again after it.
      await eventually(() => updatesOf('crossed.back@corp.test').length === 3, 5_000, 'the form drawn again');
      expect(updatesOf('crossed.back@corp.test').map((c) => c.args.view.callback_id)).toEqual(['invite_modal', 'invite_review', 'invite_modal']);
      expect(shown().blocks.find((b: any) => b.block_id === 'emails').element.initial_value).toBe('crossed.back@corp.test');
    } finally {
      h.api.registerView('V0MODAL', { hash: 'h1' });
    }
  });

  it('Send while the redraw with the people picked is on its way to Slack: the modal says the summary follows, not the review', async () => {
    try {
      await holdingTheRedraw('crossed.sent@corp.test', 'U0CROSSS', async ({ draftId }) => {
        const sent = await send(draftId);
        expect(sent.status).toBe(200);
        expect((sent.json as any).view.callback_id).not.toBe('invite_review');
      });
      await eventually(() => updatesOf('crossed.sent@corp.test').length === 1 && shown()?.callback_id !== 'invite_review', 5_000, 'the review covered again');
      expect(textOf(shown())).toContain("I'll send you the summary in a direct message");
      await h.emailed('crossed.sent@corp.test', 1);
      await h.emailed('u0crosss@corp.test', 1);
    } finally {
      h.api.registerView('V0MODAL', { hash: 'h1' });
    }
  });

  it('a Send that fails while the redraw with the people picked is on its way to Slack: the modal says so, not the review', async () => {
    // The database refuses this list's invitations (a trigger), as a failure would.
    const allow = await refuseWrites('refuse_crossed', 'INSERT', "NEW.email = 'crossed.fail@corp.test'");
    try {
      await holdingTheRedraw('crossed.fail@corp.test', 'U0CROSSF', async ({ draftId }) => {
        const sent = await send(draftId);
        expect(sent.status).toBe(200);
        expect(textOf((sent.json as any).view)).toContain('Something went wrong');
      });
      await eventually(() => updatesOf('crossed.fail@corp.test').length === 1 && shown()?.callback_id !== 'invite_review', 5_000, 'the review covered again');
      // The Send's own words again (the list is one transaction: nothing was stored).
      expect(textOf(shown())).toContain('Something went wrong on our side, and nothing was changed');
      expect(await h.db.db('invitations').where({ email: 'crossed.fail@corp.test' }).first()).toBeUndefined();
    } finally {
      await allow();
      h.api.registerView('V0MODAL', { hash: 'h1' });
    }
  });

  it('a Send that fails after part of the list was stored says so, never "nothing was changed"', async () => {
    await h.services.invites.inviteMany({ emails: 'part.resend@corp.test', actor: { type: 'system' } });
    await h.emailed('part.resend@corp.test', 1);
    await h.settled();
    // The database refuses the resend (a trigger), after the new address was stored.
    const allow = await refuseWrites('refuse_resend', 'UPDATE', "OLD.email = 'part.resend@corp.test' AND NEW.send_count <> OLD.send_count");
    try {
      const answer = await submitForm({ emails: 'part.fresh@corp.test, part.resend@corp.test' });
      const sent = await send(answer.view.private_metadata as string, true);
      const text = textOf((sent.json as any).view);
      expect(text).toContain('Part of this list was sent, then something went wrong on our side');
      expect(text).toContain('invites` for what went out');
      expect(text).not.toContain('nothing was changed');
      expect(await h.db.db('invitations').where({ email: 'part.fresh@corp.test' })).toHaveLength(1);
      await h.emailed('part.fresh@corp.test', 1);
      expect(h.smtp.to('part.resend@corp.test')).toHaveLength(1);
    } finally {
      await allow();
    }
  });

  it('Back on a review whose modal was closed meanwhile: the draft stays open, and nothing is logged as an error', async () => {
    const errorsBefore = h.log.errors().length;
    const answer = await submitForm({ emails: 'closed.back@corp.test' });
    const draftId = answer.view.private_metadata as string;
    const hash = h.api.viewHash('V0MODAL');
    h.api.closeView('V0MODAL');
    try {
      const payload = blockActionsPayload({ user: ADMIN, triggerId: newTriggerId(), action: clickedAction(buttonFor(answer.view.blocks, 'review_back')), surface: { in: 'home' } });
      (payload as any).view = { ...answer.view, id: 'V0MODAL', hash };
      (payload as any).container = { type: 'view', view_id: 'V0MODAL' };
      expect((await h.interaction(payload)).status).toBe(200);
      await h.api.waitFor(() => h.api.calls.some((c) => c.method === 'views.update' && c.error === 'not_found' && c.args.view?.callback_id === 'invite_modal' && textOf(c.args.view).includes('closed.back')));
      await eventually(async () => (await h.db.db('invite_drafts').where({ id: draftId }).first('ended'))?.ended === null, 5_000, 'the draft open again');
      await h.settle();
      expect(h.log.errors().slice(errorsBefore)).toEqual([]);
    } finally {
      h.api.registerView('V0MODAL', { hash: 'h1' });
    }
  });

  it('Back on a review drawn again meanwhile (the people picked were found): the click still brings the form back', async () => {
    h.api.delay('users.info', 300);
    try {
      const errorsBefore = h.log.errors().length;
      h.api.users.set('U0PICK2', { email: 'second.pick@corp.test', name: 'Second Pick' });
      const answer = await submitForm({ emails: 'stale.one@corp.test', users: ['U0PICK2'] });
      // The click carries the hash of the review as the ack drew it…
      const seen = h.api.viewHash('V0MODAL');
      // …but the lookup drew it again before the click arrived.
      await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => c.args.view?.callback_id === 'invite_review' && textOf(c.args.view).includes('stale.one') && textOf(c.args.view).includes('second.pick@corp.test')));
      expect(h.api.viewHash('V0MODAL')).not.toBe(seen);
      const back = buttonFor(answer.view.blocks, 'review_back');
      const payload = blockActionsPayload({ user: ADMIN, triggerId: newTriggerId(), action: clickedAction(back), surface: { in: 'home' } });
      (payload as any).view = { ...answer.view, id: 'V0MODAL', hash: seen };
      (payload as any).container = { type: 'view', view_id: 'V0MODAL' };
      expect((await h.interaction(payload)).status).toBe(200);
      const form = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => c.args.view?.callback_id === 'invite_modal' && textOf(c.args.view).includes('stale.one')));
      expect(form.args.view.blocks.find((b: any) => b.block_id === 'emails').element.initial_value).toBe('stale.one@corp.test');
      // The first update met the newer hash; the second, without one, drew the form.
      expect(h.api.calls.filter((c) => c.method === 'views.update' && c.at >= form.at - 1_000).map((c) => c.error ?? 'ok').slice(-2)).toEqual(['hash_conflict', 'ok']);
      await h.settle();
      expect(h.log.errors().slice(errorsBefore).map((e) => e.msg)).toEqual([]);
    } finally {
      h.api.delay('users.info', 0);
      h.api.registerView('V0MODAL', { hash: 'h1' });
    }
  });

  it('the review closed before the people picked are looked up: nothing is drawn, nothing sent, nothing fails', async () => {
    h.api.delay('users.info', 1_500);
    try {
      const errorsBefore = h.log.errors().length;
      const answer = await submitForm({ emails: 'closed.one@corp.test', users: ['U0PICK'] });
      expect(textOf(answer.view)).toContain('Looking up 1 person from Slack');
      h.api.closeView('V0MODAL');
      const redraw = await h.api.waitFor(() => h.api.failedCallsTo('views.update').find((c) => c.args.view?.callback_id === 'invite_review' && textOf(c.args.view).includes('picked.person@corp.test')));
      expect(redraw.error).toBe('not_found');
      await h.settle();
      expect(h.log.errors().slice(errorsBefore).map((e) => e.msg)).toEqual([]);
      expect(await h.db.db('invitations').whereIn('email', ['closed.one@corp.test', 'picked.person@corp.test'])).toEqual([]);
    } finally {
      h.api.delay('users.info', 0);
      h.api.registerView('V0MODAL', { hash: 'h1' });
    }
  });

  it('Send sends exactly what the review showed, resends the already invited when asked, with the chosen expiry and message', async () => {
    const answer = await submitForm({ emails: 'send.one@corp.test, still.pending@corp.test, old.expired@corp.test', expiry: '30', message: 'Hi <b>there</b> & welcome\nSecond line' });
    const draftId = answer.view.private_metadata as string;
    const sent = await send(draftId, true);
    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ response_action: 'update' });
    expect(textOf((sent.json as any).view)).toMatch(/Sent 2 invitations[^]*Resent 1 invitation with the same link/);
    // Stored before the answer, with the choices.
    const row = await h.db.db('invitations').where({ email: 'send.one@corp.test' }).first();
    expect(Number(row.expires_at) - h.clock.now()).toBe(30 * DAY);
    expect(row.message).toBe('Hi <b>there</b> & welcome\nSecond line');
    // The email and the accept page show the message, escaped.
    const mail = await eventually(() => h.smtp.to('send.one@corp.test')[0], 10_000, 'the email');
    expect(mail.text).toContain('> Hi <b>there</b> & welcome');
    expect(mail.html).toContain('Hi &lt;b&gt;there&lt;/b&gt; &amp; welcome');
    const page = await (await fetch(`${h.app.url}/invite?token=${mail.token}`)).text();
    expect(page).toContain('Hi &lt;b&gt;there&lt;/b&gt; &amp; welcome');
    // The already invited got the same link again; the summary DM follows.
    await eventually(() => h.smtp.to('still.pending@corp.test').length === 2, 10_000, 'the resend');
    const [first, again] = h.smtp.to('still.pending@corp.test');
    expect(again!.link).toBe(first!.link);
    await h.api.waitFor(() => h.api.callsTo('chat.update').find((c) => textOf(c.args).includes('Sent 2 invitations')));
    // The same review cannot be sent twice.
    const twice = await send(draftId);
    expect(textOf((twice.json as any).view)).toContain('out of date');
  });

  it('one review sent twice at once (two trigger ids, not a retry): one sends and resends, the other is told the review is out of date', async () => {
    const answer = await submitForm({ emails: 'twice.new@corp.test, still.pending@corp.test' });
    const draftId = answer.view.private_metadata as string;
    const resentBefore = Number((await h.db.db('audit_log').where({ action: 'resend' }).count<{ n: number }[]>({ n: '*' }))[0]!.n);
    const answers = await Promise.all([send(draftId, true), send(draftId, true)]);
    const texts = answers.map((a) => textOf((a.json as any).view));
    expect(texts.filter((t) => /Sent 1 invitation/.test(t))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('out of date'))).toHaveLength(1);
    const resent = Number((await h.db.db('audit_log').where({ action: 'resend' }).count<{ n: number }[]>({ n: '*' }))[0]!.n);
    expect(resent - resentBefore).toBe(1);
    expect(await h.db.db('invitations').where({ email: 'twice.new@corp.test' })).toHaveLength(1);
  });

  it('people picked join the review once looked up, after the answer', async () => {
    const answer = await submitForm({ emails: '', users: ['U0PICK'] });
    expect(textOf(answer.view)).toContain('Looking up 1 person from Slack');
    const updated = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => c.args.view?.callback_id === 'invite_review' && textOf(c.args.view).includes('picked.person@corp.test')));
    expect(updated.args.view.submit.text).toBe('Send 1 invitation');
  });

  it('a lookup of the people picked that fails (the database failing then): the review says they could not be looked up, not "Looking up…" for good', async () => {
    h.api.users.set('U0LOOKFAIL', { email: 'look.fail@corp.test' });
    const { invites } = h.app.services;
    const review = invites.review.bind(invites);
    let calls = 0;
    // The form's own review goes through; the one with the people found fails.
    const failing = vi.spyOn(invites, 'review').mockImplementation(async (entries) => {
      if (++calls === 2) throw new Error('the database is away');
      return review(entries);
    });
    try {
      const answer = await submitForm({ emails: 'typed.look@corp.test', users: ['U0LOOKFAIL'] });
      expect(textOf(answer.view)).toContain('Looking up 1 person from Slack');
      const updated = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => c.args.view?.private_metadata === answer.view.private_metadata && textOf(c.args.view).includes('could not be looked up just now')));
      const text = textOf(updated.args.view);
      expect(text).toContain('<@U0LOOKFAIL> — could not be looked up just now; go Back and pick them again');
      expect(text).not.toContain('Looking up');
      expect(text).toContain('typed.look@corp.test');
    } finally {
      failing.mockRestore();
    }
  });

  it('the picker stops at 100 people; more (an older form) is refused with a message, never cut short', async () => {
    const picker = (inviteModal(7 * 86_400_000).blocks as any[]).map((block) => block.element).find((el) => el?.type === 'multi_users_select');
    expect(picker.max_selected_items).toBe(100);
    const before = h.api.callsTo('users.info').length;
    const answer = await submitForm({ emails: '', users: Array.from({ length: 101 }, (_, i) => `U0MANY${String(i).padStart(3, '0')}`) });
    expect(answer).toEqual({ response_action: 'errors', errors: { users: expect.stringContaining('Pick at most 100 people at a time') } });
    expect(h.api.callsTo('users.info').length).toBe(before);
  });

  it('people Slack will not read just now, or at all, are named apart from those with no email on their profile', async () => {
    h.api.users.set('U0NOMAIL', { name: 'No Mail' });
    h.api.users.set('U0HIDDEN', { email: 'hidden@corp.test', invisible: true });
    h.api.users.set('U0LIMITED', { email: 'limited@corp.test' });
    // users.info rate limited for one of them: the lookup is not waited out (the review must come).
    h.api.fail('users.info', 429, { retryAfter: 30, user: 'U0LIMITED' });
    await submitForm({ emails: 'typed.person@corp.test', users: ['U0LIMITED', 'U0NOMAIL', 'U0HIDDEN'] });
    const updated = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => c.args.view?.callback_id === 'invite_review' && textOf(c.args.view).includes('U0NOMAIL')));
    const review = textOf(updated.args.view);
    // Named as mentions, which Slack shows by the person's name.
    expect(review).toContain('• <@U0NOMAIL> — no email address on their Slack profile');
    expect(review).toContain('• <@U0HIDDEN> — Slack does not show their profile to Doorman');
    expect(review).toContain('• <@U0LIMITED> — their Slack profile could not be read just now; try again in a minute');
  });

  it('many people picked are looked up a few at a time, and a short Retry-After is waited out rather than skipping the person', async () => {
    const people = Array.from({ length: 30 }, (_, i) => `U0BURST${String(i).padStart(2, '0')}`);
    people.forEach((id, i) => h.api.users.set(id, { email: `burst${i}@corp.test` }));
    h.api.fail('users.info', 429, { retryAfter: 1, user: people[7] });
    h.api.delay('users.info', 100);
    try {
      await submitForm({ emails: '', users: people });
      const updated = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => c.args.view?.callback_id === 'invite_review' && textOf(c.args.view).includes('burst0@corp.test')), 15_000);
      expect(updated.args.view.submit.text).toBe('Send 30 invitations');
      expect(textOf(updated.args.view)).not.toContain('could not be read');
      expect(h.api.mostAtOnce.get('users.info')).toBeLessThanOrEqual(10);
    } finally {
      h.api.delay('users.info', 0);
    }
  });

  it('Send while the people picked are still being looked up: they are invited even when Slack refuses the DM with the summary', async () => {
    h.api.users.set('U0LATE', { email: 'late.picked@corp.test' });
    h.api.delay('users.info', 1_000);
    try {
      const answer = await submitForm({ emails: 'typed.late@corp.test', users: ['U0LATE'] });
      h.api.refuse('chat.postMessage', 'channel_not_found', { channel: ADMIN });
      await send(answer.view.private_metadata as string);
      await eventually(async () => (await h.db.db('invitations').where({ email: 'late.picked@corp.test' })).length === 1, 10_000, 'the picked person invited');
    } finally {
      h.api.delay('users.info', 0);
    }
  });

  it('Send while the people picked are still being looked up, whose invitation then fails: the DM says part of the list was sent', async () => {
    h.api.users.set('U0LATEFAIL', { email: 'late.refused@corp.test' });
    const allow = await refuseWrites('refuse_late', 'INSERT', "NEW.email = 'late.refused@corp.test'");
    h.api.delay('users.info', 1_000);
    try {
      const answer = await submitForm({ emails: 'typed.before@corp.test', users: ['U0LATEFAIL'] });
      await send(answer.view.private_metadata as string);
      const dm = await h.api.waitFor(() => h.api.callsTo('chat.postMessage').find((c) => c.args.channel === ADMIN && textOf(c.args).includes('Part of this list was sent')), 10_000);
      expect(textOf(dm.args)).not.toContain('nothing was changed');
      expect(await h.db.db('invitations').where({ email: 'typed.before@corp.test' })).toHaveLength(1);
    } finally {
      h.api.delay('users.info', 0);
      await allow();
    }
  });

  it('someone both typed and picked, Send pressed before the lookup ended: invited once, and not named already invited too', async () => {
    h.api.users.set('U0BOTHWAYS', { email: 'Both.Ways@Corp.test' }); // a profile synced from a directory, in its own case
    h.api.delay('users.info', 1_000);
    try {
      const before = h.api.calls.length;
      const answer = await submitForm({ emails: 'both.ways@corp.test', users: ['U0BOTHWAYS'] });
      await send(answer.view.private_metadata as string);
      const said = () => h.api.calls.slice(before).filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && (c.args.channel === ADMIN || c.args.channel === `D${ADMIN.slice(1)}`)).map((c) => textOf(c.args));
      const summary = await h.api.waitFor(() => said().find((text) => text.startsWith('Sent ')), 10_000, 'the summary');
      expect(summary).toMatch(/^Sent 1; skipped 0; invalid 0\./);
      expect(summary).not.toMatch(/already invited/i);
      expect(await h.db.db('invitations').where({ email: 'both.ways@corp.test' }).whereIn('status', ['pending', 'awaiting'])).toHaveLength(1);
    } finally {
      h.api.delay('users.info', 0);
    }
  });

  it('Send while the people picked are still being looked up, by an admin demoted meanwhile: the people picked are not invited, and the DM says why', async () => {
    h.api.users.set('U0LATEDEMOTED', { email: 'late.demoted@corp.test' });
    h.api.delay('users.info', 1_000);
    try {
      const answer = await submitForm({ emails: 'typed.by.lin@corp.test', users: ['U0LATEDEMOTED'] }, LINKED);
      const sent = await h.sendReview(answer.view.private_metadata as string, { user: LINKED });
      expect(sent.status).toBe(200);
      // Demoted while the people picked are looked up (the CLI, another admin in Slack).
      await h.services.members.setRole(h.ids.linked, 'member', SYSTEM_ACTOR);
      const dm = await h.api.waitFor(() => h.api.callsTo('chat.postMessage').find((c) => c.args.channel === LINKED && textOf(c.args).includes('Part of this list was sent')), 10_000);
      expect(textOf(dm.args)).toContain('Member: Manage');
      expect(await h.db.db('invitations').where({ email: 'typed.by.lin@corp.test' })).toHaveLength(1);
      expect(await h.db.db('invitations').where({ email: 'late.demoted@corp.test' })).toHaveLength(0);
    } finally {
      h.api.delay('users.info', 0);
      await h.services.members.setRole(h.ids.linked, 'admin', SYSTEM_ACTOR);
    }
  });

  it('the command\'s mentions are looked up at once, before its answer: one Slack holds back is named, and costs the others nothing', async () => {
    h.api.users.set('U0MENTION', { email: 'mentioned@corp.test' });
    h.api.users.set('U0SLOWED', { email: 'slowed@corp.test' });
    h.api.fail('users.info', 429, { retryAfter: 1, user: 'U0SLOWED' });
    const { responseId } = await h.slash('invite <@U0MENTION|mentioned> <@U0SLOWED|slowed>', ADMIN, { raw: true });
    const said = textOf((await h.api.response(responseId)).body);
    expect(said).toContain('<@U0SLOWED> — their Slack profile could not be read just now');
    expect(said).not.toContain('<@U0MENTION>');
    expect(await h.db.db('invitations').where({ email: 'mentioned@corp.test' })).toHaveLength(1);
  });

  it('refuses a bad expiry or an overlong message as field errors', async () => {
    expect((await submitForm({ emails: 'x@corp.test', expiry: '9' })).errors).toMatchObject({ expiry: expect.stringContaining('1, 3, 7, 14, 30') });
    expect((await submitForm({ emails: 'x@corp.test', message: 'm'.repeat(501) })).errors).toMatchObject({ message: expect.stringContaining('500') });
  });

  it('Send with resend ticked on a review drawn before some links changed: one expired meanwhile gets a new invitation, one revoked is named so, none is "already invited"', async () => {
    const HOUR = 3_600_000;
    const { invites } = h.services;
    const [soon] = (await invites.inviteMany({ emails: 'expires.meanwhile@corp.test', expiresInDays: 1, actor: { type: 'system' } })).invitationIds;
    const [gone] = (await invites.inviteMany({ emails: 'revoked.meanwhile@corp.test', actor: { type: 'system' } })).invitationIds;
    await h.settled();
    h.clock.advance(22 * HOUR);
    const answer = await submitForm({ emails: 'expires.meanwhile@corp.test, revoked.meanwhile@corp.test', expiry: '14', message: 'Welcome back' });
    expect(textOf(answer.view)).toMatch(/Already invited \(their link still works\) \(2\)/);
    await invites.revoke(gone!, { type: 'system' });
    h.clock.advance(3 * HOUR);
    const sent = await send(answer.view.private_metadata as string, true);
    const said = textOf((sent.json as any).view);
    expect(said).toContain('1 expired invitation was renewed with a new link');
    expect(said).toContain('revoked.meanwhile@corp.test` — its invitation was revoked since the review');
    expect(said).not.toContain('already invited');
    // Renewed with the review's choices, by the person who sent it.
    const renewed = await h.db.db('invitations').where({ id: soon! }).first();
    expect(renewed).toMatchObject({ status: 'pending', message: 'Welcome back', invited_by_slack_user_id: ADMIN });
    expect(Number(renewed.expires_at) - h.clock.now()).toBe(14 * 86_400_000);
  });
});
