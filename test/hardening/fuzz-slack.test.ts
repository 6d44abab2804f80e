import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import type { Actor } from '../../src/shared/actor.js';
import { DIALECTS, type Dialect } from '../support/db.js';
import { blockActionsPayload, globalShortcutPayload, newTriggerId, slackEscapeTyped, slackMailto, viewSubmissionPayload } from '../support/slack-payloads.js';
import { FORM, interactionBody, postSigned, slackSignature, type SignedResponse } from '../support/slack-sign.js';
import { ADMIN, ADMIN2, LINKED, MEMBER_ADMIN, modalValues, PLAIN, SIGNING_SECRET, SlackWorld, STRANGER, textOf } from '../support/slack-world.js';
import { fingerprint, pool, report, sleep, streamUntilAnswered, until } from './support.js';

/**
 * Fuzzing the Slack door with signed requests into the real Bolt receiver (one app for all
 * cases): the slash command (`/doorman` and its subcommands, typed as Slack escapes them),
 * block_actions with forged action ids and values, and view_submissions with missing, extra or
 * mistyped fields and tampered private_metadata. Every generated case here is one Doorman must
 * refuse (a non-admin, a value that does not parse, a reference to an invitation that cannot take
 * the change), so the domain tables must be exactly as they were; every ack is < 500 and within
 * 3 s; no listener throws (no error-level log line).
 *
 * Requests Doorman has no listener for (unknown or pre-rename action ids, other commands, other
 * callback ids) are generated too, in their own test below.
 */

const RUNS = Number(process.env.HARDENING_RUNS ?? 10_000);
const DAY = 86_400_000;
const system: Actor = { type: 'system' };
const CONCURRENCY = 8;
/** Both databases; HARDENING_DIALECT=sqlite (or pg) runs one. */
const DIALECTS_RUN: Dialect[] = process.env.HARDENING_DIALECT ? DIALECTS.filter((d) => d === process.env.HARDENING_DIALECT) : DIALECTS;

/** The action ids Doorman registers (src/slack/action-values.ts ACTIONS); each also with a position suffix. */
const KNOWN_BASES = [
  'invite_resend',
  'invite_copy_link',
  'invite_revoke',
  'send_new_invitation',
  'invites_filter',
  'invites_sort',
  'invites_page',
  'member_role',
  'member_deactivate',
  'members_page',
  'open_invite_modal',
  'show_invitations',
  'show_members',
  'notice_send_new_all',
  'notice_show_list',
];
const isKnownActionId = (id: string) => KNOWN_BASES.some((base) => new RegExp(`^${base}(_\\d+)?$`).test(id));

describe.each(DIALECTS_RUN)('fuzzing the Slack door (%s)', (dialect) => {
  let w: SlackWorld;
  let db: Db;
  const ids: Record<'pending' | 'expired' | 'accepted' | 'revoked', string[]> = { pending: [], expired: [], accepted: [], revoked: [] };
  const figures = { commands: 0, actions: 0, views: 0, unhandled: 0, maxAckMs: 0, maxAckMsBy: {} as Record<string, number>, statuses: {} as Record<string, number>, forged: 0, replays: 0 };
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  /** A block_actions payload with the action exactly as given (any fields, any types), from an ephemeral message or App Home. */
  const clickPayload = (user: string, action: Record<string, unknown>, options: { home?: boolean; triggerId?: string; responseId?: string } = {}) =>
    blockActionsPayload({
      user,
      triggerId: options.triggerId ?? newTriggerId(),
      action: { type: 'button', block_id: 'b', action_ts: `${Date.now() / 1000}`, ...action },
      surface: options.home ? { in: 'home' } : { in: 'ephemeral', responseUrl: w.api.responseUrl(options.responseId ?? w.next('click')) },
    });
  /** The invite modal's view_submission payload, with `extra` fields on the view. */
  const submissionPayload = (user: string, values: unknown, extra: Record<string, unknown> = {}, triggerId = newTriggerId()) => viewSubmissionPayload({ user, triggerId, values, extra });

  /** Nothing left for the worker: emails queued by an earlier case no longer change the database. */
  const outboxSettled = async () => Number((await db('outbox').where({ state: 'pending' }).count<{ n: number }[]>({ n: '*' }))[0]!.n) === 0;

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    // The fixture holds expired invitations on purpose; the expiry sweep would announce them in
    // the middle of a batch, which is not a refused request's doing.
    w = await SlackWorld.start(dialect, { logLevel: 'warn', env: { EXPIRY_SWEEP_INTERVAL: '24h' } });
    db = w.db.db;
    const { invites } = w.services;
    const old = await invites.inviteMany({ emails: 'old1@corp.test, old2@corp.test', actor: system });
    w.clock.advance(8 * DAY);
    ids.expired.push(...old.invitationIds);
    const fresh = await invites.inviteMany({ emails: 'p1@corp.test, p2@corp.test, p3@corp.test, acc@corp.test, rev@corp.test', actor: system });
    ids.pending.push(...fresh.invitationIds.slice(0, 3));
    const [acc, rev] = fresh.invitationIds.slice(3) as [string, string];
    const token = new URL((await invites.copyLink(acc)).link).searchParams.get('token')!;
    await invites.accept({ token, firstName: 'A', lastName: 'C', password: 'long enough password' });
    ids.accepted.push(acc);
    // Let the worker send the setup emails, so the fuzzing starts from a settled outbox.
    await until(outboxSettled, 15_000, 'setup mail');
    await invites.revoke(rev, system);
    ids.revoked.push(rev);
    // Let each known Slack user be matched once (linking a Slack id to a member is bookkeeping on
    // first sight, not a change a request asked for).
    await until(outboxSettled, 15_000, 'setup mail');
    for (const user of [ADMIN, ADMIN2, MEMBER_ADMIN, PLAIN, STRANGER, LINKED]) await w.slash('invites nonsense-status', user);
    await sleep(300);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    report(`fuzz-slack-${dialect}`, figures);
    await w?.stop();
  });

  const admin = () => fc.constantFrom(ADMIN, ADMIN2, MEMBER_ADMIN, LINKED);
  const nonAdmin = () => fc.oneof(fc.constantFrom(PLAIN, STRANGER), fc.stringMatching(/^[UW][A-Z0-9]{2,12}$/));
  const anyText = () => fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom("' OR 1=1 --", '<!channel>', '<@U0ADMIN>', '*bold*', '```', '\u0000', '&amp;lt;', 'x'.repeat(3500)));
  /** Ids an admin may click and nothing may change: accepted, revoked, non-existent, malformed. */
  const deadId = () => fc.oneof(fc.constantFrom(...ids.accepted, ...ids.revoked), fc.stringMatching(/^invite_[0-9A-Z]{26}$/), fc.constantFrom('invite_', 'invite_../x', 'usr_1', ''));
  const anyId = () => fc.oneof(deadId(), fc.constantFrom(...ids.pending, ...ids.expired));
  const tableTail = () => fc.oneof(fc.constant('pending.created.desc.0'), fc.tuple(fc.constantFrom('pending', 'all', 'x', ''), fc.constantFrom('email', 'status', 'drop', ''), fc.constantFrom('asc', 'desc', ';'), fc.constantFrom('0', '-1', '1e9', '99999999999', 'NaN', '10')).map((p) => p.join('.')));
  const rowValue = (id: fc.Arbitrary<string>) => fc.tuple(fc.constantFrom('t', 'h', 's', 'n', 'x', ''), id, tableTail()).map(([c, i, tail]) => (c === 'n' ? `n.${i}.${tail.length % 3 === 0 ? '1' : tail}` : `${c}.${i}.${tail}`));
  /** An action id Doorman routes: a registered base, with or without a position suffix. */
  const actionId = () => fc.oneof(fc.constantFrom(...KNOWN_BASES), fc.tuple(fc.constantFrom(...KNOWN_BASES), fc.nat(99)).map(([b, n]) => `${b}_${n}`));
  /** An action id Doorman has no listener for: made up, mangled, or one of the ids before the rename. */
  const unknownActionId = () =>
    fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('invite_resend_x', 'INVITE_RESEND', 'invite_resend_1_2', 'invite_send_new', 'invite_send_new_3', 'notice_show_expired', 'notice_show_expired_1')).filter((id) => !isKnownActionId(id));
  const anyValue = () => fc.oneof(rowValue(anyId()), anyText(), fc.stringMatching(/^usr_[0-9A-Z]{26}\.(admin|member|owner)\.\d{1,3}$/), fc.constantFrom('1', '0', '-1', '999999999999999999', '1.5'), fc.constant(undefined));

  /** A click an admin makes that must change nothing: a dead reference, or a value that does not parse for its action. */
  const adminRefusedClick = () =>
    fc.oneof(
      fc.tuple(fc.constantFrom('invite_resend', 'invite_revoke', 'send_new_invitation', 'invite_copy_link'), rowValue(deadId())).map(([base, value]) => ({ action_id: base, value })),
      // Resend on an expired one, Send new invitation on a pending one: the domain refuses the wrong state.
      fc.tuple(fc.constant('invite_resend'), rowValue(fc.constantFrom(...ids.expired))).map(([base, value]) => ({ action_id: base, value })),
      fc.tuple(fc.constant('send_new_invitation'), rowValue(fc.constantFrom(...ids.pending))).map(([base, value]) => ({ action_id: base, value })),
      // Unknown members, and notices that do not exist.
      fc.tuple(fc.constantFrom('member_role', 'member_deactivate'), fc.oneof(fc.stringMatching(/^usr_[0-9A-Z]{26}\.(admin|member)\.\d{1,3}$/), anyText())).map(([base, value]) => ({ action_id: base, value })),
      fc.tuple(fc.constant('notice_send_new_all'), fc.oneof(fc.integer({ min: 1000, max: 10 ** 9 }).map(String), anyText())).map(([base, value]) => ({ action_id: base, value })),
      // Read-only actions with any value.
      fc.tuple(fc.constantFrom('invites_filter', 'invites_sort', 'invites_page', 'members_page', 'notice_show_list', 'show_invitations', 'show_members', 'open_invite_modal'), anyValue()).map(([base, value]) => ({ action_id: base, value })),
    );

  const ack = (res: { status: number; ms: number }) => {
    figures.statuses[res.status] = (figures.statuses[res.status] ?? 0) + 1;
    figures.maxAckMs = Math.max(figures.maxAckMs, Math.round(res.ms));
    const phase = expect.getState().currentTestName?.split(' > ').at(-1)?.split(':')[0] ?? '?';
    figures.maxAckMsBy[phase] = Math.max(figures.maxAckMsBy[phase] ?? 0, Math.round(res.ms));
    expect(res.status).toBeLessThan(500);
    expect(res.ms).toBeLessThan(3_000);
  };

  async function batches<T>(arb: fc.Arbitrary<T>, runs: number, send: (item: T) => Promise<void>): Promise<void> {
    const before = await fingerprint(db);
    const errorsBefore = w.log.errors().length;
    const seed = Number(process.env.HARDENING_SEED ?? Date.now() % 2 ** 31);
    const items = fc.sample(arb, { numRuns: runs, seed });
    for (let at = 0; at < items.length; at += 500) {
      await pool(items.slice(at, at + 500), CONCURRENCY, send);
      // Work after the ack: wait until Slack got its answers, then nothing may have changed.
      await sleep(150);
      const now = await fingerprint(db);
      expect(now, `state changed by a refused Slack request (seed ${seed}, batch at ${at})`).toEqual(before);
    }
    expect(w.log.errors().slice(errorsBefore), `a Slack listener failed (seed ${seed})`).toEqual([]);
    expect(unhandled).toEqual([]);
    // Unknown Slack users are looked up and not found (that is the point); nothing else may be refused.
    expect(w.api.rejected().filter((r) => !('method' in r && r.method === 'users.info' && r.error === 'user_not_found'))).toEqual([]);
  }

  it(`slash commands: ${Math.round(RUNS * 0.3)} generated, refused ones change nothing`, async () => {
    const subcommand = fc.constantFrom('invite', 'invites', 'members', 'help', 'INVITE', 'Invites', '');
    const cases = fc.oneof(
      // Anyone without Member: Manage: any subcommand with any text, a bare list, a pasted "Name <address>";
      // typed (escaped as Slack escapes it) or already in Slack's wire form (mentions, mailto links).
      fc.record({
        user: nonAdmin(),
        text: fc.oneof(
          fc.tuple(subcommand, anyText()).map(([sub, text]) => `${sub} ${text}`),
          anyText(),
          fc.constantFrom('jane@corp.test, sam@corp.test', 'invite jane@corp.test, sam@corp.test', 'invite Jane Doe <jane@corp.test>', 'invite <@U0NOBODY>', 'invite <mailto:jane@corp.test|jane@corp.test>'),
        ),
        raw: fc.boolean(),
      }),
      // Admins: read-only subcommands (and help, and unknown words) with any text, typed or raw.
      fc.record({
        user: admin(),
        text: fc.oneof(
          fc.tuple(fc.constantFrom('invites', 'INVITES', 'invites pending', 'invites all', 'invites expired', 'invites accepted', 'invites revoked', 'invites bogus', 'members', 'help'), anyText()).map(([sub, text]) => `${sub} ${text}`),
          fc.stringMatching(/^[a-z]{1,12}( [a-z0-9 ]{0,20})?$/),
        ),
        raw: fc.boolean(),
      }),
      // Admins: invite with nothing that is an address, with and without the subcommand.
      fc.record({
        user: admin(),
        text: fc
          .tuple(fc.constantFrom('invite ', ''), fc.oneof(fc.constantFrom('not-an-address', 'jane@', '@corp.test', 'a@b', ';;;,,,', 'Jane <jane@>', '<jane@corp>', 'x@y & z'), fc.stringMatching(/^[a-z ,;]{1,40}$/).filter((t) => t.trim() !== '')))
          .map(([sub, list]) => `${sub}${list}`),
        raw: fc.constant(false),
      }),
      // Existing members and pending invitees, typed or as Slack links them: skipped, nothing changes.
      fc.record({
        user: admin(),
        text: fc
          .tuple(
            fc.constantFrom('invite ', ''),
            fc.subarray([...['ada@corp.test', 'pat@corp.test', 'P1@corp.test', 'p2@corp.test', '"P3" <p3@corp.test>', 'Lin Linked <LIN@corp.test>'].map(slackEscapeTyped), slackMailto('ops@corp.test'), slackMailto('P2@corp.test', 'Pee Two')], { minLength: 1 }),
          )
          .map(([sub, l]) => `${sub}${l.join(', ')}`),
        raw: fc.constant(true),
      }),
    );
    await batches(cases, Math.round(RUNS * 0.3), async (c) => {
      figures.commands++;
      ack((await w.slash(c.text, c.user, { raw: c.raw })).ack);
    });
  }, 120_000);

  it(`block_actions: ${Math.round(RUNS * 0.4)} generated (forged action ids and values, replays by non-admins), nothing changes`, async () => {
    const cases = fc.oneof(
      { weight: 2, arbitrary: fc.record({ user: nonAdmin(), action: fc.record({ action_id: actionId(), value: anyValue() }), home: fc.boolean() }) },
      { weight: 3, arbitrary: fc.record({ user: admin(), action: adminRefusedClick(), home: fc.boolean() }) },
      // A select with a forged selected_option, and mistyped fields.
      {
        weight: 1,
        arbitrary: fc.record({
          user: fc.constantFrom(ADMIN, PLAIN),
          action: fc.record({ action_id: fc.constantFrom('member_role_1', 'invites_sort', 'invites_filter'), type: fc.constant('static_select'), selected_option: fc.oneof(fc.record({ value: anyText() }), fc.jsonValue({ maxDepth: 1 })) }),
          home: fc.boolean(),
        }),
      },
    );
    await batches(cases, Math.round(RUNS * 0.4), async (c) => {
      figures.actions++;
      if (c.user !== ADMIN && c.user !== ADMIN2 && c.user !== MEMBER_ADMIN && c.user !== LINKED) figures.replays++;
      else figures.forged++;
      ack(await w.interaction(clickPayload(c.user, c.action as Record<string, unknown>, { home: c.home })));
    });
  }, 120_000);

  it(`view_submission: ${Math.round(RUNS * 0.3)} generated (missing, extra, mistyped fields, tampered private_metadata), nothing changes`, async () => {
    const values = fc.oneof(
      fc.record({ emails: fc.oneof(fc.constant(null), fc.constantFrom('not-an-address', 'x@', 'ada@corp.test, nope'), anyText().map((t) => `${t} bad@@entry`)), role: fc.constantFrom('member', 'admin', 'developer', 'owner', '') }).map((v) => modalValues(v)),
      fc.record({ emails: fc.constant('jane@corp.test'), role: fc.constantFrom('owner', 'ADMIN', 'root', ' member') }).map((v) => modalValues(v)),
      fc.constant(modalValues({ emails: '' })),
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({ emails: fc.record({ emails_input: fc.record({ value: fc.oneof(fc.integer(), fc.array(fc.string()), fc.constant({})) }) }), users: fc.record({ users_input: fc.record({ selected_users: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer())) }) }) }, { requiredKeys: [] }),
    );
    const cases = fc.oneof(
      // Extra or replaced view fields (a callback_id other than the modal's is in the test of requests without a listener).
      { weight: 3, arbitrary: fc.record({ user: admin(), values, meta: anyText(), extra: fc.dictionary(fc.constantFrom('private_metadata', 'state', 'hash', 'extra', 'blocks', 'id', 'type'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }) }) },
      // A non-admin replaying an admin's (valid) submission.
      { weight: 1, arbitrary: fc.record({ user: nonAdmin(), values: fc.constant(modalValues({ emails: 'replayed@corp.test', role: 'admin' })), meta: anyText(), extra: fc.constant({}) }) },
    );
    await batches(cases, Math.round(RUNS * 0.3), async (c) => {
      figures.views++;
      ack(await w.interaction(submissionPayload(c.user, c.values, { private_metadata: c.meta, ...c.extra })));
    });
  }, 120_000);

  it('requests no listener is for (unknown and pre-rename ids, other commands and callback ids): acknowledged within 3 s, no error line, nothing changes', async () => {
    const cases = fc.oneof(
      fc.record({ kind: fc.constant('command' as const), user: fc.oneof(admin(), nonAdmin()), command: fc.constantFrom('/invite', '/invites', '/members', '/unknown', '/INVITE', '/DOORMAN', '/doorman2'), text: fc.oneof(anyText(), fc.constant('jane@corp.test')) }),
      fc.record({ kind: fc.constant('action' as const), user: fc.oneof(admin(), nonAdmin()), action: fc.record({ action_id: unknownActionId(), value: anyValue() }), home: fc.boolean() }),
      fc.record({ kind: fc.constant('view' as const), user: admin(), callbackId: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('INVITE_MODAL', 'invite_modal_', 'invite')).filter((id) => id !== 'invite_modal') }),
      fc.record({ kind: fc.constant('shortcut' as const), user: fc.oneof(admin(), nonAdmin()), callbackId: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('invite', 'INVITE_PEOPLE')).filter((id) => id !== 'invite_people') }),
    );
    const seed = Number(process.env.HARDENING_SEED ?? Date.now() % 2 ** 31);
    const items = [
      // The ids and commands from before the rename, always.
      ...['invite_send_new', 'invite_send_new_2', 'notice_show_expired', 'notice_show_expired_1'].map((action_id) => ({ kind: 'action' as const, user: ADMIN, action: { action_id, value: `t.${ids.expired[0]}.expired.created.desc.0` }, home: false })),
      ...['/invite', '/invites', '/members'].map((command) => ({ kind: 'command' as const, user: ADMIN, command, text: 'pending' })),
      ...fc.sample(cases, { numRuns: Math.min(24, Math.max(8, Math.round(RUNS * 0.005))), seed }),
    ];
    const before = await fingerprint(db);
    const errorsBefore = w.log.errors().length;
    const slow: string[] = [];
    const results = await pool(items, CONCURRENCY, async (c): Promise<SignedResponse> => {
      figures.unhandled++;
      let res: SignedResponse;
      if (c.kind === 'command') res = (await w.slash(c.text, c.user, { fields: { command: c.command } })).ack;
      else if (c.kind === 'action') res = await w.interaction(clickPayload(c.user, c.action as Record<string, unknown>, { home: c.home }));
      else if (c.kind === 'view') res = await w.interaction(submissionPayload(c.user, modalValues({ emails: 'unhandled@corp.test' }), { callback_id: c.callbackId }));
      else res = await w.interaction({ ...globalShortcutPayload({ user: c.user, callbackId: c.callbackId, triggerId: newTriggerId() }) });
      figures.statuses[res.status] = (figures.statuses[res.status] ?? 0) + 1;
      if (res.ms >= 3_000 || res.status >= 500) slow.push(`${res.status} after ${Math.round(res.ms)} ms: ${JSON.stringify(c).slice(0, 160)}`);
      return res;
    });
    await sleep(150);
    expect(results).toHaveLength(items.length);
    expect(await fingerprint(db), `state changed by a request without a listener (seed ${seed})`).toEqual(before);
    expect(slow, `seed ${seed}: not acknowledged within 3 s (or 5xx)`).toEqual([]);
    expect(w.log.errors().slice(errorsBefore).map((e) => e.msg), 'error-level log lines').toEqual([]);
    expect(w.api.rejected().filter((r) => !('method' in r && r.method === 'users.info' && r.error === 'user_not_found'))).toEqual([]);
  }, 120_000);

  it('forged references and replays, one by one: refused in words, nothing changes', async () => {
    // Past the double-click window, so the fuzzed clicks above do not swallow these as repeats.
    w.clock.advance(11_000);
    const before = await fingerprint(db);
    const cases: Array<{ user: string; action_id: string; value: string; words: RegExp }> = [
      { user: ADMIN, action_id: 'invite_revoke_1', value: `t.${ids.accepted[0]}.pending.created.desc.0`, words: /already accepted/ },
      { user: ADMIN, action_id: 'invite_resend_1', value: `t.${ids.revoked[0]}.pending.created.desc.0`, words: /already revoked/ },
      { user: ADMIN, action_id: 'invite_resend_1', value: 't.invite_01ZZZZZZZZZZZZZZZZZZZZZZZZ.pending.created.desc.0', words: /no longer exists/ },
      { user: ADMIN, action_id: 'send_new_invitation_1', value: `t.${ids.pending[0]}.pending.created.desc.0`, words: /has not expired/ },
      { user: ADMIN, action_id: 'invite_copy_link_1', value: `t.${ids.revoked[0]}.pending.created.desc.0`, words: /already revoked/ },
      { user: ADMIN, action_id: 'invite_revoke_1', value: `t.${ids.pending[0]}.pending.created.desc.0;DROP`, words: /out of date/ },
      { user: PLAIN, action_id: 'invite_revoke_1', value: `t.${ids.pending[0]}.pending.created.desc.0`, words: /Member: Manage/ },
      { user: STRANGER, action_id: 'invite_resend_1', value: `t.${ids.pending[1]}.pending.created.desc.0`, words: /Member: Manage/ },
      { user: PLAIN, action_id: 'member_role_1', value: 'usr_X.admin.0', words: /out of date|Member: Manage/ },
      { user: 'U0UNKNOWNX', action_id: 'invite_copy_link_1', value: `t.${ids.pending[0]}.pending.created.desc.0`, words: /could not check your Slack profile|Member: Manage/ },
    ];
    cases.push({ user: PLAIN, action_id: 'member_role_1', value: `${w.ids.pat}.admin.0`, words: /Member: Manage/ });
    for (const c of cases) {
      const responseId = w.next('forged');
      const res = await w.interaction(clickPayload(c.user, { action_id: c.action_id, value: c.value }, { responseId }));
      expect(res.status).toBe(200);
      const answer = await until(() => w.api.responsesTo(responseId)[0], 5_000, `the answer to ${c.action_id} ${c.value}`);
      expect(JSON.stringify(answer.body)).toMatch(c.words);
      figures.forged++;
    }
    // The copy-link link never goes to someone without the permission.
    expect(JSON.stringify(w.api.responses.filter((r) => r.id.startsWith('forged')))).not.toMatch(/invite\?token=/);
    expect(await fingerprint(db)).toEqual(before);
  });

  it('a pasted "Name <address>", escaped by Slack as it is typed, invites the address', async () => {
    // Typed as a person types it; the world sends `Jane Doe &lt;jane@corp.test&gt;`, as Slack does.
    const { ack: answer } = await w.slash('invite Jane Doe <jane@corp.test>', ADMIN);
    ack(answer);
    expect(answer.status).toBe(200);
    const said = textOf(answer.json as { text?: string; blocks?: any[] });
    expect(said).toMatch(/Sent 1 invitation\b/);
    expect(said).not.toMatch(/&lt;|&gt;|skipped [1-9]|invalid [1-9]|not an email|no @/i);
    const rows = await db('invitations').where({ email: 'jane@corp.test' });
    expect(rows).toHaveLength(1);
    expect(await db('invitations').where('email', 'like', '%jane doe%')).toEqual([]);
    // …and the email goes out to that address, with a link that opens the invitation.
    await until(() => w.smtp.to('jane@corp.test').length === 1, 10_000, 'the invitation email to jane@corp.test');
    expect((await w.services.invites.lookupToken(w.smtp.to('jane@corp.test')[0]!.token)).email).toBe('jane@corp.test');
  });

  it('the same Slack payload delivered three times (retries) has one effect', async () => {
    const { invites } = w.services;
    const target = ids.pending[2]!;
    const sentBefore = (await invites.get(target)).sendCount;
    const audit = async () => Number((await db('audit_log').where({ subject_id: target }).count<{ n: number }[]>({ n: '*' }))[0]!.n);
    const auditBefore = await audit();
    const payload = clickPayload(ADMIN, { action_id: 'invite_resend_2', value: `t.${target}.pending.created.desc.0` });
    const results = await Promise.all([0, 1, 2].map((retry) => w.interaction(payload, retry ? { retryNum: retry } : {})));
    for (const r of results) ack(r);
    // The resend runs after the ack: once it is done, a little longer to see that no copy adds another.
    await until(async () => (await audit()) > auditBefore, 10_000, 'the resend');
    await sleep(500);
    expect((await invites.get(target)).sendCount).toBe(sentBefore + 1);
    expect(await audit()).toBe(auditBefore + 1);
    // The same command thrice (one trigger_id): one invitation, one email queued.
    const triggerId = newTriggerId();
    const cmd = await Promise.all([0, 1, 2].map((retry) => w.slash('invite thrice@corp.test', ADMIN, { triggerId, ...(retry ? { retryNum: retry } : {}) })));
    for (const r of cmd) ack(r.ack);
    await until(async () => (await db('invitations').where({ email: 'thrice@corp.test' })).length > 0, 10_000, 'the invitation');
    await sleep(500);
    expect(await db('invitations').where({ email: 'thrice@corp.test' }).select('id')).toHaveLength(1);
    expect(await db('outbox').where({ kind: 'invite_email' }).whereIn('invitation_id', db('invitations').where({ email: 'thrice@corp.test' }).select('id'))).toHaveLength(1);
    // The same "Send" of a review thrice.
    const review = (await w.submitInvite({ emails: 'modal-thrice@corp.test' })).json as { view: { private_metadata: string } };
    const sendTrigger = newTriggerId();
    for (const r of await Promise.all([0, 1, 2].map((retry) => w.sendReview(review.view.private_metadata, { triggerId: sendTrigger, ...(retry ? { retryNum: retry } : {}) })))) ack(r);
    await until(async () => (await db('invitations').where({ email: 'modal-thrice@corp.test' })).length === 1, 5_000, 'the modal invitation');
    await sleep(500);
    expect(await db('invitations').where({ email: 'modal-thrice@corp.test' })).toHaveLength(1);
    figures.replays += 9;
  });

  it('unsigned, badly signed, stale and oversized requests are refused before any work; 413 without reading the body whole', async () => {
    await until(outboxSettled, 15_000, 'the emails of the cases before');
    const before = await fingerprint(db);
    const body = interactionBody(clickPayload(ADMIN, { action_id: 'invite_revoke_1', value: `t.${ids.pending[0]}.pending.created.desc.0` }));
    const now = Math.floor(Date.now() / 1000);
    expect((await postSigned(w.endpoint, SIGNING_SECRET, body, FORM, { signature: 'v0=' + '0'.repeat(64) })).status).toBe(401);
    expect((await postSigned(w.endpoint, 'another-secret', body, FORM)).status).toBe(401);
    expect((await postSigned(w.endpoint, SIGNING_SECRET, body, FORM, { timestamp: now - 600 })).status).toBe(401);
    expect((await fetch(w.endpoint, { method: 'POST', headers: { 'content-type': FORM }, body })).status).toBe(401);
    // Declared too large: refused from the headers alone.
    const big = 'payload=' + 'a'.repeat(2 * 1024 * 1024);
    const declared = await postSigned(w.endpoint, SIGNING_SECRET, big, FORM);
    expect(declared.status).toBe(413);
    // Streamed without a length: refused once the limit is passed, long before the sender is done.
    const sent = await streamUntilAnswered(w.endpoint, { 'content-type': FORM, 'x-slack-request-timestamp': String(now), 'x-slack-signature': slackSignature(SIGNING_SECRET, now, 'x') }, 64 * 1024 * 1024);
    expect(sent.status).toBe(413);
    expect(sent.bytesSent).toBeLessThan(16 * 1024 * 1024);
    expect(await fingerprint(db)).toEqual(before);
    report(`slack-oversized-${dialect}`, { declared: declared.status, streamed: sent.status, streamedBytesBeforeAnswer: sent.bytesSent });
  });
});
