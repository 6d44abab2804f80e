import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/shared/actor.js';
import { FORM, interactionBody, postSigned, slackSignature } from '../support/slack-sign.js';
import {
  ADMIN,
  clickPayload,
  fingerprint,
  MEMBER_ADMIN,
  modalValues,
  PLAIN,
  pool,
  report,
  SIGNING_SECRET,
  sleep,
  startSlackApp,
  STRANGER,
  submissionPayload,
  until,
  streamUntilAnswered,
  type SlackApp,
} from './support.js';

/**
 * Fuzzing the Slack door with signed requests into the real Bolt receiver (one app for all
 * cases): slash commands, block_actions with unknown or forged action ids and values, and
 * view_submissions with missing, extra or mistyped fields and tampered private_metadata.
 * Every generated case here is one Doorman must refuse (a non-admin, a value that does not parse,
 * a reference to an invitation that cannot take the change), so the domain tables must be exactly
 * as they were; every ack is < 500 and within 3 s; no listener throws (no error-level log line).
 */

const RUNS = Number(process.env.HARDENING_RUNS ?? 10_000);
const DAY = 86_400_000;
const system: Actor = { type: 'system' };
const CONCURRENCY = 8;

describe('fuzzing the Slack door', () => {
  let s: SlackApp;
  const ids: Record<'pending' | 'expired' | 'accepted' | 'revoked', string[]> = { pending: [], expired: [], accepted: [], revoked: [] };
  const figures = { commands: 0, actions: 0, views: 0, events: 0, maxAckMs: 0, statuses: {} as Record<string, number>, forged: 0, replays: 0 };
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    // The fixture holds expired invitations on purpose; the expiry sweep (every minute by default)
    // would announce them in the middle of a batch, which is not a refused request's doing.
    s = await startSlackApp({ logLevel: 'warn', env: { EXPIRY_SWEEP_INTERVAL: '24h' } });
    const { invites } = s.app.services;
    const old = await invites.inviteMany({ emails: 'old1@corp.test, old2@corp.test', actor: system });
    s.clock.advance(8 * DAY);
    ids.expired.push(...old.invitationIds);
    const fresh = await invites.inviteMany({ emails: 'p1@corp.test, p2@corp.test, p3@corp.test, acc@corp.test, rev@corp.test', actor: system });
    ids.pending.push(...fresh.invitationIds.slice(0, 3));
    const [acc, rev] = fresh.invitationIds.slice(3) as [string, string];
    const token = new URL((await invites.copyLink(acc)).link).searchParams.get('token')!;
    await invites.accept({ token, firstName: 'A', lastName: 'C', password: 'long enough password' });
    ids.accepted.push(acc);
    await invites.revoke(rev, system);
    ids.revoked.push(rev);
    // Let the worker send the setup emails, and let each known Slack user be matched once (linking
    // a Slack id to a member is bookkeeping on first sight, not a change a request asked for).
    await until(async () => Number((await s.db('outbox').where({ state: 'pending' }).count<{ n: number }[]>({ n: '*' }))[0]!.n) === 0, 15_000, 'setup mail');
    for (const user of [ADMIN, MEMBER_ADMIN, PLAIN, STRANGER]) await s.command('/invites', 'nonsense-status', user);
    await sleep(300);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    report('fuzz-slack', figures);
    await s?.stop();
  });

  const nonAdmin = () => fc.oneof(fc.constantFrom(PLAIN, STRANGER), fc.stringMatching(/^[UW][A-Z0-9]{2,12}$/));
  const anyText = () => fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom("' OR 1=1 --", '<!channel>', '<@U0ADMIN>', '*bold*', '```', '\u0000', 'x'.repeat(3500)));
  /** Ids an admin may click and nothing may change: accepted, revoked, non-existent, malformed. */
  const deadId = () => fc.oneof(fc.constantFrom(...ids.accepted, ...ids.revoked), fc.stringMatching(/^invite_[0-9A-Z]{26}$/), fc.constantFrom('invite_', 'invite_../x', 'usr_1', ''));
  const anyId = () => fc.oneof(deadId(), fc.constantFrom(...ids.pending, ...ids.expired));
  const tableTail = () => fc.oneof(fc.constant('pending.created.desc.0'), fc.tuple(fc.constantFrom('pending', 'all', 'x', ''), fc.constantFrom('email', 'status', 'drop', ''), fc.constantFrom('asc', 'desc', ';'), fc.constantFrom('0', '-1', '1e9', '99999999999', 'NaN', '10')).map((p) => p.join('.')));
  const rowValue = (id: fc.Arbitrary<string>) => fc.tuple(fc.constantFrom('t', 'h', 's', 'n', 'x', ''), id, tableTail()).map(([c, i, tail]) => (c === 'n' ? `n.${i}.${tail.length % 3 === 0 ? '1' : tail}` : `${c}.${i}.${tail}`));
  const knownBases = ['invite_resend', 'invite_copy_link', 'invite_revoke', 'invite_send_new', 'invites_filter', 'invites_sort', 'invites_page', 'member_role', 'member_deactivate', 'members_page', 'open_invite_modal', 'notice_send_new_all', 'notice_show_expired'];
  const actionId = () => fc.oneof(fc.constantFrom(...knownBases), fc.tuple(fc.constantFrom(...knownBases), fc.nat(99)).map(([b, n]) => `${b}_${n}`), fc.string({ maxLength: 30 }), fc.constantFrom('invite_resend_x', 'INVITE_RESEND', 'invite_resend_1_2'));
  const anyValue = () => fc.oneof(rowValue(anyId()), anyText(), fc.stringMatching(/^usr_[0-9A-Z]{26}\.(admin|member|owner)\.\d{1,3}$/), fc.constantFrom('1', '0', '-1', '999999999999999999', '1.5'), fc.constant(undefined));

  /** A click an admin makes that must change nothing: a dead reference, or a value that does not parse for its action. */
  const adminRefusedClick = () =>
    fc.oneof(
      fc.tuple(fc.constantFrom('invite_resend', 'invite_revoke', 'invite_send_new', 'invite_copy_link'), rowValue(deadId())).map(([base, value]) => ({ action_id: base, value })),
      // Resend on an expired one, Send new on a pending one: the domain refuses the wrong state.
      fc.tuple(fc.constant('invite_resend'), rowValue(fc.constantFrom(...ids.expired))).map(([base, value]) => ({ action_id: base, value })),
      fc.tuple(fc.constant('invite_send_new'), rowValue(fc.constantFrom(...ids.pending))).map(([base, value]) => ({ action_id: base, value })),
      // Unknown members, and notices that do not exist.
      fc.tuple(fc.constantFrom('member_role', 'member_deactivate'), fc.oneof(fc.stringMatching(/^usr_[0-9A-Z]{26}\.(admin|member)\.\d{1,3}$/), anyText())).map(([base, value]) => ({ action_id: base, value })),
      fc.tuple(fc.constant('notice_send_new_all'), fc.oneof(fc.integer({ min: 1000, max: 10 ** 9 }).map(String), anyText())).map(([base, value]) => ({ action_id: base, value })),
      // Read-only actions and unknown action ids with any value.
      fc.tuple(fc.oneof(fc.constantFrom('invites_filter', 'invites_sort', 'invites_page', 'members_page', 'notice_show_expired'), fc.string({ maxLength: 30 })), anyValue()).map(([base, value]) => ({ action_id: base, value })),
    );

  const ack = (res: { status: number; ms: number }) => {
    figures.statuses[res.status] = (figures.statuses[res.status] ?? 0) + 1;
    figures.maxAckMs = Math.max(figures.maxAckMs, Math.round(res.ms));
    expect(res.status).toBeLessThan(500);
    expect(res.ms).toBeLessThan(3_000);
  };

  async function batches<T>(arb: fc.Arbitrary<T>, runs: number, send: (item: T) => Promise<void>): Promise<void> {
    const before = await fingerprint(s.db);
    const seed = Number(process.env.HARDENING_SEED ?? Date.now() % 2 ** 31);
    const items = fc.sample(arb, { numRuns: runs, seed });
    for (let at = 0; at < items.length; at += 500) {
      await pool(items.slice(at, at + 500), CONCURRENCY, send);
      // Work after the ack: wait until Slack got its answers, then nothing may have changed.
      await sleep(150);
      const now = await fingerprint(s.db);
      expect(now, `state changed by a refused Slack request (seed ${seed}, batch at ${at})`).toEqual(before);
    }
    expect(s.log.errors(), 'a Slack listener failed').toEqual([]);
    expect(unhandled).toEqual([]);
    // Unknown Slack users are looked up and not found (that is the point); nothing else may be refused.
    expect(s.api.rejected().filter((r) => !('method' in r && r.method === 'users.info' && r.error === 'user_not_found'))).toEqual([]);
  }

  it(`slash commands: ${Math.round(RUNS * 0.3)} generated, refused ones change nothing`, async () => {
    const cases = fc.oneof(
      // Anyone without Member: Manage, any command, any text.
      fc.record({ user: nonAdmin(), command: fc.constantFrom('/invite', '/invites', '/members'), text: fc.oneof(anyText(), fc.constant('jane@corp.test, sam@corp.test')) }),
      // Admins: read-only commands with any text, /invite with nothing that is an address.
      fc.record({ user: fc.constantFrom(ADMIN, MEMBER_ADMIN), command: fc.constantFrom('/invites', '/members', '/unknown', '/INVITE'), text: anyText() }),
      fc.record({ user: fc.constantFrom(ADMIN, MEMBER_ADMIN), command: fc.constant('/invite'), text: fc.oneof(fc.constantFrom('not-an-address', 'jane@', '@corp.test', 'a@b', ';;;,,,'), fc.stringMatching(/^[a-z ,;]{1,40}$/).filter((t) => t.trim() !== '')) }),
      // Existing members and pending invitees: skipped, nothing changes.
      fc.record({ user: fc.constantFrom(ADMIN, MEMBER_ADMIN), command: fc.constant('/invite'), text: fc.subarray(['ada@corp.test', 'pat@corp.test', 'P1@corp.test', 'p2@corp.test', '"P3" <p3@corp.test>'], { minLength: 1 }).map((l) => l.join(', ')) }),
    );
    await batches(cases, Math.round(RUNS * 0.3), async (c) => {
      figures.commands++;
      ack(await s.command(c.command, c.text, c.user, {}));
    });
  }, 120_000);

  it(`block_actions: ${Math.round(RUNS * 0.4)} generated (unknown and forged action ids and values, replays by non-admins), nothing changes`, async () => {
    const cases = fc.oneof(
      { weight: 2, arbitrary: fc.record({ user: nonAdmin(), action: fc.record({ action_id: actionId(), value: anyValue() }), home: fc.boolean() }) },
      { weight: 3, arbitrary: fc.record({ user: fc.constantFrom(ADMIN, MEMBER_ADMIN), action: adminRefusedClick(), home: fc.boolean() }) },
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
      if (c.user !== ADMIN && c.user !== MEMBER_ADMIN) figures.replays++;
      else figures.forged++;
      ack(await s.interaction(clickPayload(s, c.user, c.action as Record<string, unknown>, { home: c.home })));
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
      { weight: 3, arbitrary: fc.record({ user: fc.constantFrom(ADMIN, MEMBER_ADMIN), values, meta: anyText(), extra: fc.dictionary(fc.constantFrom('private_metadata', 'callback_id', 'state', 'hash', 'extra', 'blocks'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }) }) },
      // A non-admin replaying an admin's (valid) submission.
      { weight: 1, arbitrary: fc.record({ user: nonAdmin(), values: fc.constant(modalValues({ emails: 'replayed@corp.test', role: 'admin' })), meta: anyText(), extra: fc.constant({}) }) },
    );
    await batches(cases, Math.round(RUNS * 0.3), async (c) => {
      figures.views++;
      const extra = { private_metadata: c.meta, ...c.extra } as Record<string, unknown>;
      // A callback_id other than the modal's is not ours: keep it so the case reaches the listener unless it is being fuzzed.
      if (!('callback_id' in c.extra)) extra.callback_id = 'invite_modal';
      ack(await s.interaction(submissionPayload(s, c.user, c.values, extra)));
    });
  }, 120_000);

  it('forged references and replays, one by one: refused in words, nothing changes', async () => {
    // Past the double-click window, so the fuzzed clicks above do not swallow these as repeats.
    s.clock.advance(11_000);
    const before = await fingerprint(s.db);
    const cases: Array<{ user: string; action_id: string; value: string; words: RegExp }> = [
      { user: ADMIN, action_id: 'invite_revoke_1', value: `t.${ids.accepted[0]}.pending.created.desc.0`, words: /already accepted/ },
      { user: ADMIN, action_id: 'invite_resend_1', value: `t.${ids.revoked[0]}.pending.created.desc.0`, words: /already revoked/ },
      { user: ADMIN, action_id: 'invite_resend_1', value: 't.invite_01ZZZZZZZZZZZZZZZZZZZZZZZZ.pending.created.desc.0', words: /no longer exists/ },
      { user: ADMIN, action_id: 'invite_send_new_1', value: `t.${ids.pending[0]}.pending.created.desc.0`, words: /has not expired/ },
      { user: ADMIN, action_id: 'invite_copy_link_1', value: `t.${ids.revoked[0]}.pending.created.desc.0`, words: /already revoked/ },
      { user: ADMIN, action_id: 'invite_revoke_1', value: `t.${ids.pending[0]}.pending.created.desc.0;DROP`, words: /out of date/ },
      { user: PLAIN, action_id: 'invite_revoke_1', value: `t.${ids.pending[0]}.pending.created.desc.0`, words: /Member: Manage/ },
      { user: STRANGER, action_id: 'invite_resend_1', value: `t.${ids.pending[1]}.pending.created.desc.0`, words: /Member: Manage/ },
      { user: PLAIN, action_id: 'member_role_1', value: 'usr_X.admin.0', words: /out of date|Member: Manage/ },
      { user: 'U0UNKNOWNX', action_id: 'invite_copy_link_1', value: `t.${ids.pending[0]}.pending.created.desc.0`, words: /could not check your Slack profile|Member: Manage/ },
    ];
    const pat = await s.app.services.members.findByEmail('pat@corp.test');
    cases.push({ user: PLAIN, action_id: 'member_role_1', value: `${pat!.id}.admin.0`, words: /Member: Manage/ });
    for (const c of cases) {
      const responseId = s.next('forged');
      const res = await s.interaction(clickPayload(s, c.user, { action_id: c.action_id, value: c.value }, { responseId }));
      expect(res.status).toBe(200);
      const answer = await until(() => s.api.responsesTo(responseId)[0], 5_000, `the answer to ${c.action_id} ${c.value}`);
      expect(JSON.stringify(answer.body)).toMatch(c.words);
      figures.forged++;
    }
    // The copy-link link never goes to someone without the permission.
    expect(JSON.stringify(s.api.responses.filter((r) => r.id.startsWith('forged')))).not.toMatch(/invite\?token=/);
    expect(await fingerprint(s.db)).toEqual(before);
  });

  it('the same Slack payload delivered three times (retries) has one effect', async () => {
    const { invites } = s.app.services;
    const target = ids.pending[2]!;
    const sentBefore = (await invites.get(target)).sendCount;
    const audit = async () => Number((await s.db('audit_log').where({ subject_id: target }).count<{ n: number }[]>({ n: '*' }))[0]!.n);
    const auditBefore = await audit();
    const payload = clickPayload(s, ADMIN, { action_id: 'invite_resend_2', value: `t.${target}.pending.created.desc.0` });
    const results = await Promise.all([0, 1, 2].map((retry) => s.interaction(payload, retry ? { retryNum: retry } : {})));
    for (const r of results) ack(r);
    await sleep(500);
    expect((await invites.get(target)).sendCount).toBe(sentBefore + 1);
    expect(await audit()).toBe(auditBefore + 1);
    // The same command thrice (one trigger_id): one invitation, one email queued.
    const triggerId = s.next('trigger.');
    const cmd = await Promise.all([0, 1, 2].map((retry) => s.command('/invite', 'thrice@corp.test', ADMIN, { trigger_id: triggerId }, retry ? { retryNum: retry } : {})));
    for (const r of cmd) ack(r);
    await sleep(500);
    expect(await s.db('invitations').where({ email: 'thrice@corp.test' }).select('id')).toHaveLength(1);
    expect(await s.db('outbox').where({ kind: 'invite_email' }).whereIn('invitation_id', s.db('invitations').where({ email: 'thrice@corp.test' }).select('id'))).toHaveLength(1);
    // The same modal submission thrice.
    const submission = submissionPayload(s, ADMIN, modalValues({ emails: 'modal-thrice@corp.test' }));
    for (const r of await Promise.all([0, 1, 2].map((retry) => s.interaction(submission, retry ? { retryNum: retry } : {})))) ack(r);
    await until(async () => (await s.db('invitations').where({ email: 'modal-thrice@corp.test' })).length === 1, 5_000, 'the modal invitation');
    await sleep(500);
    expect(await s.db('invitations').where({ email: 'modal-thrice@corp.test' })).toHaveLength(1);
    figures.replays += 9;
  });

  it('unsigned, badly signed, stale and oversized requests are refused before any work; 413 without reading the body whole', async () => {
    const before = await fingerprint(s.db);
    const body = interactionBody(clickPayload(s, ADMIN, { action_id: 'invite_revoke_1', value: `t.${ids.pending[0]}.pending.created.desc.0` }));
    const now = Math.floor(Date.now() / 1000);
    expect((await postSigned(s.endpoint, SIGNING_SECRET, body, FORM, { signature: 'v0=' + '0'.repeat(64) })).status).toBe(401);
    expect((await postSigned(s.endpoint, 'another-secret', body, FORM)).status).toBe(401);
    expect((await postSigned(s.endpoint, SIGNING_SECRET, body, FORM, { timestamp: now - 600 })).status).toBe(401);
    expect((await fetch(s.endpoint, { method: 'POST', headers: { 'content-type': FORM }, body })).status).toBe(401);
    // Declared too large: refused from the headers alone.
    const big = 'payload=' + 'a'.repeat(2 * 1024 * 1024);
    const declared = await postSigned(s.endpoint, SIGNING_SECRET, big, FORM);
    expect(declared.status).toBe(413);
    // Streamed without a length: refused once the limit is passed, long before the sender is done.
    const sent = await streamUntilAnswered(s.endpoint, { 'content-type': FORM, 'x-slack-request-timestamp': String(now), 'x-slack-signature': slackSignature(SIGNING_SECRET, now, 'x') }, 64 * 1024 * 1024);
    expect(sent.status).toBe(413);
    expect(sent.bytesSent).toBeLessThan(16 * 1024 * 1024);
    expect(await fingerprint(s.db)).toEqual(before);
    report('slack-oversized', { declared: declared.status, streamed: sent.status, streamedBytesBeforeAnswer: sent.bytesSent });
  });
});

