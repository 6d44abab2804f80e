import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { blockActionsPayload, clickedAction, newTriggerId, slackMailto, slackMention, slashCommandFields, viewSubmissionPayload } from '../support/slack-payloads.js';
import { ADMIN, ADMIN2, buttonFor, eventually, LINKED, MEMBER_ADMIN, modalValues, pause, PLAIN, SlackWorld, STRANGER, textOf } from '../support/slack-world.js';

/** The Web API calls made while `run` ran, in order (auth.test aside). */
async function callsDuring(h: SlackWorld, run: () => Promise<unknown>) {
  const mark = h.api.calls.length;
  await run();
  return () => h.api.calls.slice(mark).filter((c) => c.method !== 'auth.test');
}

describe.each(DIALECTS)('one namespaced command, the shortcut, modals first, Slack\'s own text (%s)', (dialect) => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
    h.api.users.set('U0JANE', { email: 'jane.mentioned@corp.test', name: 'Jane Mentioned' });
    h.api.users.set('U0NOMAIL', { name: 'No Mail' });
  });
  afterAll(async () => {
    // A trigger used twice is refused on purpose below.
    expect(h.api.rejected('exchanged_trigger_id')).toEqual([]);
    await h.stop();
  });

  it('the command alone and help answer with a short help and its three buttons; an unknown subcommand suggests the closest', async () => {
    for (const text of ['', 'help']) {
      const { ack } = await h.slash(text);
      expect(ack.status).toBe(200);
      const body = ack.json as any;
      expect(body.response_type).toBe('ephemeral');
      expect(textOf(body)).toContain('`/doorman invite jane@example.com, sam@example.com`');
      expect(buttonFor(body.blocks, 'open_invite_modal').text.text).toBe('Invite people');
      expect(buttonFor(body.blocks, 'show_invitations').text.text).toBe('Invitations');
      expect(buttonFor(body.blocks, 'show_members').text.text).toBe('Members');
    }
    const typo = (await h.slash('memebrs')).ack.json as any;
    expect(textOf(typo)).toContain("I don't know `memebrs`. Did you mean `/doorman members`?");
    // Help's buttons: the table and the members list, to the one who clicked.
    const help = (await h.slash('help')).ack.json as any;
    const table = await h.click(buttonFor(help.blocks, 'show_invitations'));
    expect(textOf((await h.api.response(table.responseId)).body)).toContain('Invitations — Pending');
    const members = await h.click(buttonFor(help.blocks, 'show_members'));
    expect(textOf((await h.api.response(members.responseId)).body)).toContain('*Members*');
    // …and a stranger is refused there too.
    const refused = await h.click(buttonFor(help.blocks, 'show_members'), { user: STRANGER });
    expect(textOf((await h.api.response(refused.responseId)).body)).toMatch(/Member: Manage/);
  });

  it('a paste as Slack sends it (escaped, mailto links, mentions) invites each address, the mentioned by their profile email', async () => {
    // What the person typed, escaped by Slack as it escapes typed text, plus the markup clients add.
    const typed = 'Jane Doe <jane.doe@corp.test>, tom&jerry@corp.test; ';
    const wire = slashCommandFields({ command: '/doorman', text: typed, user: ADMIN, responseUrl: '', triggerId: newTriggerId() }).text;
    expect(wire).toContain('&lt;jane.doe@corp.test&gt;');
    const text = `invite ${wire}${slackMailto('mailto.typed@corp.test')} ${slackMention('U0JANE', 'jane')} ${slackMention('U0NOMAIL')}`;
    const { ack } = await h.slash(text, ADMIN, { raw: true });
    const summary = textOf(ack.json as any);
    expect(summary).toContain('Sent 4 invitations');
    const stored = (await h.db.db('invitations').select('email')).map((r: { email: string }) => r.email);
    expect(stored).toEqual(expect.arrayContaining(['jane.doe@corp.test', 'tom&jerry@corp.test', 'mailto.typed@corp.test', 'jane.mentioned@corp.test']));
    expect(stored.some((e: string) => e.includes('&amp;') || e.includes('mailto:'))).toBe(false);
    // The one without an email on their profile is named, not dropped; outgoing text is escaped again.
    expect(summary).toContain('U0NOMAIL');
    expect(summary).toContain('no email address on their Slack profile');
    // Only mentions, none with an address: each is named with why, and nothing is stored.
    const before = await h.db.db('invitations').count<{ n: number | string }[]>({ n: '*' });
    const onlyMentions = textOf((await h.slash(`invite ${slackMention('U0NOMAIL')}`, ADMIN, { raw: true })).ack.json as any);
    expect(onlyMentions).toContain('No invitations were sent');
    expect(onlyMentions).toContain('U0NOMAIL');
    expect(onlyMentions).toContain('no email address on their Slack profile');
    expect(onlyMentions).not.toContain('No email addresses were given');
    expect(await h.db.db('invitations').count<{ n: number | string }[]>({ n: '*' })).toEqual(before);
    // A bare list without the subcommand means invite too.
    const bare = await h.slash('bare.list@corp.test, other.bare@corp.test');
    expect(textOf(bare.ack.json as any)).toContain('Sent 2 invitations');
  });

  it('a list is stored, invitations and their emails, before Slack gets its answer', async () => {
    const emails = Array.from({ length: 150 }, (_, i) => `durable${i}@corp.test`).join(', ');
    const { ack } = await h.slash(`invite ${emails}`);
    expect(ack.status).toBe(200);
    expect(textOf(ack.json as any)).toContain('Sent 150 invitations');
    // Read the moment the answer arrived: nothing waits for work after the ack.
    const [invitations, queued] = await Promise.all([
      h.db.db('invitations').where('email', 'like', 'durable%').count<{ n: number | string }[]>({ n: '*' }),
      h.db.db('outbox').whereIn('invitation_id', h.db.db('invitations').where('email', 'like', 'durable%').select('id')).count<{ n: number | string }[]>({ n: '*' }),
    ]);
    expect(Number(invitations[0]!.n)).toBe(150);
    expect(Number(queued[0]!.n)).toBe(150);
    expect(ack.ms).toBeLessThan(3_000);
  });

  it('opens the modal first, within the trigger, even with users.info answering in 2.5 s; the submission is answered without a Web API call', async () => {
    h.api.delay('users.info', 2_500);
    try {
      // A Slack user seen for the first time (Lin is linked by id; MEMBER_ADMIN is matched by email).
      for (const [user, open] of [
        [MEMBER_ADMIN, () => h.slash('invite', MEMBER_ADMIN)],
        [LINKED, () => h.shortcut(LINKED)],
      ] as const) {
        const calls = await callsDuring(h, open);
        const first = await h.api.waitFor(() => calls()[0]);
        expect(first.method, `${user}: the first call`).toBe('views.open');
        expect(first.ok).toBe(true);
      }
      // The Home "Invite people" button, too.
      const home = await callsDuring(h, () => h.click({ type: 'button', action_id: 'open_invite_modal', value: 'home' }, { home: true, user: MEMBER_ADMIN }));
      expect((await h.api.waitFor(() => home()[0])).method).toBe('views.open');
      // By the time a list is typed, who may invite is known; the submission waits on no Web API call.
      await pause(2_700);
      const submitted = await callsDuring(h, async () => {
        const { review, sent: res } = await h.sendInvite({ emails: 'modal.first@corp.test' }, { user: MEMBER_ADMIN });
        // Neither answer waited on the 2.5 s users.info takes: none was called meanwhile (below).
        expect(review.status).toBe(200);
        expect(res.status).toBe(200);
        expect(res.json).toMatchObject({ response_action: 'update' });
        expect(JSON.stringify(res.json)).toContain('Sent 1 invitation');
      });
      expect(submitted().filter((c) => c.at < Date.now() - 50 && c.method === 'users.info')).toEqual([]);
      expect(await h.db.db('invitations').where({ email: 'modal.first@corp.test' }).first()).toBeTruthy();
    } finally {
      h.api.delay('users.info', 0);
    }
  }, 30_000);

  it('someone without Member: Manage opens the form but is refused in it when submitting, and nothing changes', async () => {
    const before = await h.counts();
    const { triggerId } = await h.slash('invite', PLAIN);
    await h.api.waitFor(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === triggerId));
    const res = await h.submitInvite({ emails: 'sneaky@corp.test' }, { user: PLAIN });
    expect(res.json).toMatchObject({ response_action: 'update' });
    expect(textOf((res.json as any).view)).toMatch(/Member: Manage/);
    await h.settle();
    expect(await h.counts()).toEqual(before);
  });

  it('a form submitted before Doorman could check who sent it: the form stays as typed, and submitting again goes through', async () => {
    // An admin member whose profile was never read (the form's opening failed to read it, say).
    h.api.users.set('U0UNCHECKED', { email: 'unchecked@corp.test', name: 'Una Checked' });
    await h.services.members.create({ email: 'unchecked@corp.test', role: 'admin' }, { type: 'system', name: 'cli:test' });
    const first = await h.submitInvite({ emails: 'after.check@corp.test' }, { user: 'U0UNCHECKED' });
    expect(first.json).toEqual({ response_action: 'errors', errors: { emails: expect.stringContaining('Submit again in a moment; nothing was sent') } });
    await h.api.waitFor(() => h.api.callsTo('users.info').find((c) => c.args.user === 'U0UNCHECKED'));
    const again = await eventually(async () => {
      const res = await h.submitInvite({ emails: 'after.check@corp.test' }, { user: 'U0UNCHECKED' });
      return (res.json as any).view?.callback_id === 'invite_review' ? res : undefined;
    }, 5_000, 'the review');
    expect(textOf((again.json as any).view)).toContain('after.check@corp.test');
  });

  it('a bootstrap admin whose profile Slack would not give as the form opened submits it as usual (they may act; only approving waits on Slack)', async () => {
    await h.restart({ env: { SLACK_ADMIN_USER_IDS: `${ADMIN},${ADMIN2},U0BOOTNEW` } });
    try {
      h.api.users.set('U0BOOTNEW', { email: 'boot.new@corp.test', name: 'Boot New' });
      // The opening's lookup is slow, then fails; the submission comes while it is under way, and takes its answer.
      h.api.delay('users.info', 600);
      h.api.fail('users.info', 500, { times: 5, user: 'U0BOOTNEW' });
      await h.slash('invite', 'U0BOOTNEW');
      const res = await h.submitInvite({ emails: 'from.boot@corp.test' }, { user: 'U0BOOTNEW' });
      expect((res.json as any).view?.callback_id).toBe('invite_review');
    } finally {
      h.api.delay('users.info', 0);
      await h.restart({ env: { SLACK_ADMIN_USER_IDS: `${ADMIN},${ADMIN2}` } });
    }
  });

  it('a trigger used twice, or too late, is refused by Slack; Doorman\'s answers never depend on it', async () => {
    const triggerId = newTriggerId();
    await h.slash('invite', ADMIN, { triggerId });
    await h.api.waitFor(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === triggerId));
    // The same trigger again (a replayed request): Slack says it was exchanged. The form most likely
    // opened on the first try, so nobody is told it did not.
    const replay = await h.slash('invite', ADMIN, { triggerId });
    await h.api.waitFor(() => h.api.calls.find((c) => c.method === 'views.open' && c.error === 'exchanged_trigger_id'));
    await h.settle();
    expect(h.api.responsesTo(replay.responseId)).toEqual([]);
  });

  it('a form Slack will not open is never waited out past its trigger: a 429 is not waited, a 500 is retried within the 3 s, and the person is told', async () => {
    const opens = (triggerId: string) => h.api.calls.filter((c) => c.method === 'views.open' && c.args.trigger_id === triggerId);
    // Slack limits views.open for 5 s: waiting that out would spend the trigger's life.
    h.api.fail('views.open', 429, { retryAfter: 5 });
    const limited = await h.slash('invite', ADMIN);
    const told = await h.api.response(limited.responseId);
    expect(textOf(told.body)).toContain('Slack did not open the form in time. Please try again.');
    expect(told.at - (opens(limited.triggerId)[0]?.at ?? 0)).toBeLessThan(1_000);
    expect(opens(limited.triggerId)).toHaveLength(1);
    // A passing 500: tried again at once, and the form opens.
    h.api.fail('views.open', 500);
    const flaky = await h.slash('invite', ADMIN);
    await h.api.waitFor(() => opens(flaky.triggerId).find((c) => c.ok));
    expect(opens(flaky.triggerId).map((c) => c.ok)).toEqual([false, true]);
    // The shortcut has no message to answer: the person is told in a DM.
    h.api.fail('views.open', 429, { retryAfter: 5 });
    await h.shortcut(LINKED);
    const [dm] = await h.waitForDms(LINKED, 1);
    expect(dm!.args.text).toBe(':warning: Slack did not open the form in time. Please try again.');
    // From App Home too: a DM, and the Home tab stays as it was (no view published over it).
    const published = h.api.callsTo('views.publish').length;
    h.api.fail('views.open', 429, { retryAfter: 5 });
    await h.click({ type: 'button', action_id: 'open_invite_modal', value: 'home' }, { home: true, user: LINKED });
    const [, fromHome] = await h.waitForDms(LINKED, 2);
    expect(fromHome!.args.text).toBe(':warning: Slack did not open the form in time. Please try again.');
    expect(h.api.callsTo('views.publish')).toHaveLength(published);
  });
});

describe('a custom command name (SLACK_COMMAND)', () => {
  it('answers to /acme-invites only, and names it in its help', async () => {
    const h = await SlackWorld.start('sqlite', { env: { SLACK_COMMAND: '/acme-invites' } });
    try {
      const help = (await h.slash('')).ack.json as any;
      expect(textOf(help)).toContain('`/acme-invites invite`');
      expect(textOf(help)).not.toContain('/doorman');
      const invited = (await h.slash('invite custom.cmd@corp.test')).ack.json as any;
      expect(textOf(invited)).toContain('Sent 1 invitation');
    } finally {
      await h.stop();
    }
  });
});

describe('Socket Mode, end to end', () => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start('sqlite', { socketMode: true, logLevel: 'warn' });
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('runs the command, the modal and a button over the socket, each acked once', async () => {
    const socket = h.socket!;
    // invite <list>: the summary is the ack's payload.
    const listed = await socket.slashCommand(slashCommandFields({ command: '/doorman', text: 'invite socket.one@corp.test', user: ADMIN, responseUrl: h.api.responseUrl('sock-cmd'), triggerId: newTriggerId() }));
    expect(textOf(listed.payload as any)).toContain('Sent 1 invitation');
    // invite alone: the modal opens.
    const triggerId = newTriggerId();
    await socket.slashCommand(slashCommandFields({ command: '/doorman', text: 'invite', user: ADMIN, responseUrl: h.api.responseUrl('sock-open'), triggerId }));
    await h.api.waitFor(() => h.api.callsTo('views.open').find((c) => c.args.trigger_id === triggerId));
    // The submission's answer comes back as the ack's payload.
    const submitted = await socket.interactive(viewSubmissionPayload({ user: ADMIN, triggerId: newTriggerId(), values: modalValues({ emails: 'socket.two@corp.test' }) }));
    expect(submitted.payload).toMatchObject({ response_action: 'update' });
    // A button: Resend from the table.
    const id = (await h.db.db('invitations').where({ email: 'socket.one@corp.test' }).first()).id as string;
    await h.emailed('socket.one@corp.test', 1);
    const table = await socket.slashCommand(slashCommandFields({ command: '/doorman', text: 'invites', user: ADMIN, responseUrl: h.api.responseUrl('sock-table'), triggerId: newTriggerId() }));
    const button = buttonFor((table.payload as any).blocks, 'invite_resend', id);
    await socket.interactive(blockActionsPayload({ user: ADMIN, triggerId: newTriggerId(), action: clickedAction(button), surface: { in: 'ephemeral', responseUrl: h.api.responseUrl('sock-click') } }));
    await h.api.response('sock-click');
    await eventually(() => h.smtp.to('socket.one@corp.test').length === 2, 10_000, 'the resent email');
    // One ack per envelope, and Bolt warned of no second one.
    expect(socket.acks.length).toBe(socket.sent.length);
    expect(h.log.entries().filter((e) => /ack/i.test(String(e.msg)) && Number(e.level) >= 40)).toEqual([]);
  });
});

describe('Socket Mode, when Slack cannot be reached', () => {
  const invites = (h: SlackWorld) => h.socket!.slashCommand(slashCommandFields({ command: '/doorman', text: 'invites', user: ADMIN, responseUrl: h.api.responseUrl(`sock-${newTriggerId()}`), triggerId: newTriggerId() }));

  it('at start: Doorman starts anyway and connects once apps.connections.open answers', async () => {
    // Four failures: the first attempt and the client's three quick retries of it.
    const h = await SlackWorld.start('sqlite', { socketMode: true, logLevel: 'warn', beforeStart: async (_db, _clock, api) => api.fail('apps.connections.open', 500, { times: 4 }) });
    try {
      expect(h.api.failedCallsTo('apps.connections.open')).toHaveLength(4);
      expect(h.log.entries().filter((e) => /could not be reached for a Socket Mode connection/.test(String(e.msg)))).toHaveLength(1);
      expect(textOf((await invites(h)).payload as any)).toContain('Invitations');
    } finally {
      await h.stop();
    }
  });

  it('Slack closing the connection while apps.connections.open fails: Doorman stays up and connects again', async () => {
    const h = await SlackWorld.start('sqlite', { socketMode: true, logLevel: 'warn' });
    try {
      h.api.fail('apps.connections.open', 500, { times: 4 });
      // Slack's refresh: the client closes this connection and asks for another, in vain (with its retries).
      h.socket!.disconnect('refresh_requested');
      await eventually(() => h.api.failedCallsTo('apps.connections.open').length === 4, 10_000, 'a failed reconnect');
      await eventually(() => h.log.entries().some((e) => /could not be reached for a Socket Mode connection/.test(String(e.msg))), 10_000, 'the failure logged');
      await h.socket!.connected(1, 10_000);
      expect(textOf((await invites(h)).payload as any)).toContain('Invitations');
      // The web side never went away.
      expect((await fetch(`${h.app.url}/healthz`)).status).toBe(200);
    } finally {
      await h.stop();
    }
  });

  it('a socket refused after apps.connections.open answered (a proxy, an incident): Doorman stays up and connects again', async () => {
    const h = await SlackWorld.start('sqlite', { socketMode: true, logLevel: 'warn' });
    try {
      h.socket!.refuseConnections(2);
      h.socket!.disconnect('refresh_requested');
      await eventually(() => h.log.entries().filter((e) => /could not be reached for a Socket Mode connection/.test(String(e.msg))).length === 2, 15_000, 'two refused sockets');
      await h.socket!.connected(1, 15_000);
      expect(textOf((await invites(h)).payload as any)).toContain('Invitations');
    } finally {
      await h.stop();
    }
  });
});
