import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp } from '../../src/app.js';
import { runCli } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { MembersService } from '../../src/members/service.js';
import { TEAM_RETRY_MS } from '../../src/slack/app.js';
import { IDENTITY_CACHE_MS, PROFILE_UNAVAILABLE, SlackIdentities, type SlackProfile } from '../../src/slack/identity.js';
import { createTestDatabase, DIALECTS, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { tempDataDir } from '../support/service.js';
import { SlackApiStandIn } from '../support/slack-api.js';
import { blockActionsPayload, clickedAction, newTriggerId } from '../support/slack-payloads.js';
import { ADMIN, BOT_TOKEN, buttonFor, eventually, MEMBER_ADMIN, pause, SIGNING_SECRET, SlackWorld, textOf } from '../support/slack-world.js';

const REFUSED = /Member: Manage|workspace it is installed in/;

describe.each(DIALECTS)('who a Slack user is: verified facts only (%s)', (dialect) => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start(dialect, { logLevel: 'trace' });
    // Each has Ada's address on their profile, but something Slack says about them is not to be trusted.
    h.api.users.set('U0UNCONF', { email: 'ada@corp.test', name: 'Unconfirmed', is_email_confirmed: false });
    h.api.users.set('U0GUEST', { email: 'ada@corp.test', name: 'Guest', is_restricted: true });
    h.api.users.set('U0SCGUEST', { email: 'ada@corp.test', name: 'Single-channel', is_ultra_restricted: true });
    h.api.users.set('U0EXTERN', { email: 'ada@corp.test', name: 'Connect', team_id: 'T0OTHER', is_stranger: true });
    h.api.users.set('U0OTHERT', { email: 'ada@corp.test', name: 'Other team', team_id: 'T0OTHER' });
  });
  afterAll(async () => {
    expect(h.api.rejected('user_not_visible')).toEqual([]);
    await h.stop();
  });

  const members = async (user: string, fields: Record<string, string> = {}) => textOf((await h.slash('members', user, { fields })).ack.json as any);
  const ada = () => h.db.db('members').where({ email: 'ada@corp.test' }).first();

  it('a profile email that is unconfirmed, a guest\'s, an outsider\'s or another workspace\'s is no proof: refused, nothing linked', async () => {
    for (const user of ['U0UNCONF', 'U0GUEST', 'U0SCGUEST', 'U0EXTERN', 'U0OTHERT']) expect(await members(user), user).toMatch(REFUSED);
    // A request from another workspace is refused before anything is read.
    expect(await members(MEMBER_ADMIN, { team_id: 'T0OTHER' })).toMatch(/workspace it is installed in/);
    expect((await ada()).slack_user_id).toBeNull();
    expect(await h.db.db('audit_log').where({ action: 'slack_link', subject_id: (await ada()).id }).first()).toBeUndefined();
  });

  it('someone Slack does not show to the app is refused as not permitted, not told to try again', async () => {
    h.api.users.set('U0HIDDEN', { email: 'ada@corp.test', name: 'Hidden', invisible: true });
    const answer = await members('U0HIDDEN');
    expect(answer).toMatch(REFUSED);
    expect(answer).not.toMatch(/try again/i);
  });

  it('the first verified contact links the member; a later newcomer with the same email is refused, and the audit log says why', async () => {
    expect(await members(MEMBER_ADMIN)).toContain('*Members*');
    expect((await ada()).slack_user_id).toBe(MEMBER_ADMIN);
    h.api.users.set('U0IMPOSTOR', { email: 'ada@corp.test', name: 'Ada Impostor' });
    expect(await members('U0IMPOSTOR')).toMatch(REFUSED);
    expect((await ada()).slack_user_id).toBe(MEMBER_ADMIN);
    const refused = await h.db.db('audit_log').where({ action: 'slack_link_refused' }).first();
    expect(refused).toMatchObject({ subject_id: (await ada()).id });
    expect(JSON.parse(refused.details)).toMatchObject({ slackUserId: 'U0IMPOSTOR' });
    // Ada's notes still go to her own Slack user.
    await h.invite(['joiner@corp.test'], { type: 'member', memberId: (await ada()).id, name: 'Ada Admin' });
    await h.accept('joiner@corp.test');
    await h.waitForDms(MEMBER_ADMIN, 1);
    expect(h.dms('U0IMPOSTOR')).toEqual([]);
  });

  it('re-linking is the operator\'s explicit act (doorman user link-slack), audited', async () => {
    const out: string[] = [];
    // The CLI's own environment, not the process's: nothing leaks into the files run after this one.
    const env = { ...process.env, DATABASE_URL: h.db.url, APP_SECRET: process.env.APP_SECRET ?? 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz' };
    expect(await runCli(['user', 'link-slack', 'ada@corp.test', 'U0IMPOSTOR'], { write: (s) => void out.push(s) }, { write: (s) => void out.push(s) }, { env })).toBe(0);
    expect(out.join('')).toContain('ada@corp.test is now linked to Slack user U0IMPOSTOR');
    expect((await ada()).slack_user_id).toBe('U0IMPOSTOR');
    const audit = await h.db.db('audit_log').where({ action: 'slack_link', subject_id: (await ada()).id }).orderBy('id');
    expect(JSON.parse(audit.at(-1).details)).toMatchObject({ slackUserId: 'U0IMPOSTOR', previous: MEMBER_ADMIN });
  });

  it('on Enterprise Grid an admin whose own workspace is another of the organization\'s is let in, by the command and by the clicks it answers with', async () => {
    const grid = { enterprise_id: 'E0ORG', enterprise_name: 'Corp Org', id: 'W0GRID', is_admin: false, is_owner: false, teams: ['T0HOME', 'T0TEST'] };
    await h.services.members.create({ email: 'grid@corp.test', role: 'admin', firstName: 'Gri', lastName: 'D' }, { type: 'system', name: 'cli:test' });
    h.api.users.set('W0GRID', { email: 'grid@corp.test', name: 'Grid Admin', team_id: 'T0HOME', enterprise_user: grid });
    const { ack } = await h.slash('invites', 'W0GRID', { fields: { team_id: 'T0TEST', enterprise_id: 'E0ORG', enterprise_name: 'Corp Org' } });
    const table = ack.json as any;
    expect(textOf(table)).toContain('*Invitations');
    // The click as Grid sends it: `team` is the workspace clicked in, `user.team_id` the person's own.
    const filter = buttonFor(table.blocks, 'invites_filter');
    const payload = blockActionsPayload({
      user: 'W0GRID',
      triggerId: newTriggerId(),
      action: clickedAction({ ...filter, type: 'static_select', selected_option: filter.options[5] }, table.blocks),
      surface: { in: 'ephemeral', responseUrl: h.api.responseUrl('grid-click') },
    });
    Object.assign(payload, { team: { id: 'T0TEST', domain: 'test', enterprise_id: 'E0ORG', enterprise_name: 'Corp Org' }, enterprise: { id: 'E0ORG', name: 'Corp Org' }, is_enterprise_install: false });
    payload.user.team_id = 'T0HOME';
    expect((await h.interaction(payload)).status).toBe(200);
    const answer = textOf((await h.api.response('grid-click')).body);
    expect(answer).not.toMatch(REFUSED);
    expect(answer).toContain('*Invitations — All*');
    // Someone of another workspace of the organization, where Doorman is not installed, is still refused.
    await h.services.members.create({ email: 'grid2@corp.test', role: 'admin', firstName: 'Gri', lastName: 'Two' }, { type: 'system', name: 'cli:test' });
    h.api.users.set('W0ELSE', { email: 'grid2@corp.test', name: 'Elsewhere', team_id: 'T0HOME', enterprise_user: { ...grid, id: 'W0ELSE', teams: ['T0HOME'] } });
    expect(textOf((await h.slash('invites', 'W0ELSE', { fields: { team_id: 'T0TEST', enterprise_id: 'E0ORG' } })).ack.json as any)).toMatch(REFUSED);
  });

  it('bootstrap admins are who SLACK_ADMIN_USER_IDS says, as before', async () => {
    expect(await members(ADMIN)).toContain('*Members*');
  });

  it('no secret reaches the log at any level, Bolt\'s and the Web API client\'s debug lines included', async () => {
    const invited = await h.slash('invite secret.keeper@corp.test', ADMIN);
    expect(textOf(invited.ack.json as any)).toContain('Sent 1 invitation');
    // Copy link from App Home: the link travels in views.update, which the client logs at debug.
    const home = await h.event({ type: 'app_home_opened', user: ADMIN, channel: 'D0', tab: 'home', event_ts: '1.9' });
    expect(home.status).toBe(200);
    const published = await h.api.waitFor(() => h.api.callsTo('views.publish').find((c) => c.args.user_id === ADMIN && JSON.stringify(c.args.view).includes('secret.keeper')));
    await h.click(buttonFor(published.args.view.blocks, 'invite_copy_link'), { home: true });
    const filled = await h.api.waitFor(() => h.api.callsTo('views.update').find((c) => JSON.stringify(c.args.view).includes('token=')));
    const token = /token=([\w-]{43})/.exec(JSON.stringify(filled.args.view))![1]!;
    await h.settle(300);
    const log = h.log.lines.join('\n');
    expect(h.log.lines.length).toBeGreaterThan(20);
    expect(log).toContain('views.update');
    expect(log).not.toContain(token);
    expect(log).not.toContain('xoxb-test');
    expect(log).not.toMatch(/token=[\w-]{20,}/);
  });
});

describe.each(DIALECTS)('a bootstrap admin with a member account (%s)', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t.destroy();
  });
  /** Identities with one bootstrap admin whose users.info answers `profile`, in the workspace T0CORP. */
  const world = (bootstrapAdmin: string, profile: () => Promise<SlackProfile>) => {
    const clock = new ManualClock();
    const members = new MembersService(t.db, clock);
    const identities = new SlackIdentities({ members, clock, logger: createLogger('silent'), bootstrapAdmins: [bootstrapAdmin], installedTeam: () => 'T0CORP', profile });
    return { clock, members, identities };
  };

  it('may act but not approve while their profile cannot be read; then their member is theirs', async () => {
    let slackDown = true;
    const { members, identities } = world('U0BOSS', async () => {
      if (slackDown) throw new Error('users.info timed out');
      return { teamIds: ['T0CORP'], email: 'boss@corp.test', emailConfirmed: true, outsider: false, name: 'Boss' };
    });
    const { member } = await members.create({ email: 'boss@corp.test', role: 'admin' }, { type: 'system', name: 'cli' });
    const unknown = await identities.identify('U0BOSS', 'T0CORP');
    expect(unknown).toMatchObject({ allowed: true, mayApprove: false, refusal: PROFILE_UNAVAILABLE });
    // A modal's submission cannot ask Slack; it goes by what is known (Deny only ever withholds).
    expect(await identities.identify('U0BOSS', 'T0CORP', { mayAskSlack: false })).toMatchObject({ allowed: true, mayApprove: true, actor: { type: 'slack', slackUserId: 'U0BOSS' } });
    slackDown = false;
    expect(await identities.identify('U0BOSS', 'T0CORP')).toMatchObject({ allowed: true, mayApprove: true, actor: { type: 'slack', slackUserId: 'U0BOSS', memberId: member.id } });
    expect((await members.get(member.id)).slackUserId).toBe('U0BOSS');
  });

  it('one whose confirmed profile matches no member decides approvals as before, and a member made later is found', async () => {
    const { clock, members, identities } = world('U0SOLO', async () => ({ teamIds: ['T0CORP'], email: 'solo@corp.test', emailConfirmed: true, outsider: false, name: 'Solo' }));
    expect(await identities.identify('U0SOLO', 'T0CORP')).toMatchObject({ allowed: true, mayApprove: true, actor: { type: 'slack', slackUserId: 'U0SOLO' } });
    const { member } = await members.create({ email: 'solo@corp.test', role: 'member' }, { type: 'system', name: 'cli' });
    clock.advance(IDENTITY_CACHE_MS + 1);
    expect(await identities.identify('U0SOLO', 'T0CORP', { mayAskSlack: false })).toMatchObject({ allowed: true, mayApprove: true, actor: { memberId: member.id } });
  });
});

describe('an organization-wide installation on Enterprise Grid', () => {
  it('is refused at start, naming SLACK_BOT_TOKEN: Doorman serves the people of one workspace', async () => {
    const api = await SlackApiStandIn.start(BOT_TOKEN);
    api.orgWideInstall = true;
    const test = await createTestDatabase('sqlite');
    const data = tempDataDir();
    try {
      const config = loadConfig({ DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PORT: '0', PUBLIC_URL: 'http://doorman.test', SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: api.url });
      await expect(startApp(config, createLogger('silent'))).rejects.toThrow(/^SLACK_BOT_TOKEN: it is an organization-wide installation/);
    } finally {
      await api.stop();
      await test.destroy();
      data.cleanup();
    }
  });
});

describe('Slack out of reach at start', () => {
  const members = async (h: SlackWorld) => textOf((await h.slash('members', MEMBER_ADMIN)).ack.json as any);
  // Only the intervals are fake: the workspace check's, which the test fires by hand.
  const outOfReachAtStart = () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    return SlackWorld.start('sqlite', { logLevel: 'trace', beforeStart: async (_db, _clock, api) => api.fail('auth.test', 500, { times: 2 }) });
  };

  it('Doorman starts anyway, tells those it cannot check yet to try again, and knows its workspace once Slack answers', async () => {
    const h = await outOfReachAtStart();
    try {
      expect(h.api.failedCallsTo('auth.test')).toHaveLength(2);
      expect(h.log.entries().find((e) => /could not be reached to check SLACK_BOT_TOKEN/.test(String(e.msg)))).toMatchObject({ level: 40 });
      expect(await members(h)).toContain(PROFILE_UNAVAILABLE);
      // Only the workspace check asks auth.test again: never a request on its way to its ack.
      const asked = h.api.calls.filter((c) => c.method === 'auth.test').length;
      await members(h);
      expect(h.api.calls.filter((c) => c.method === 'auth.test')).toHaveLength(asked);
      vi.advanceTimersByTime(TEAM_RETRY_MS);
      expect(await eventually(async () => (await members(h)).includes('*Members*'), 5_000, 'the workspace learned')).toBe(true);
      const learned = h.api.calls.filter((c) => c.method === 'auth.test').length;
      await members(h);
      expect(h.api.calls.filter((c) => c.method === 'auth.test')).toHaveLength(learned);
    } finally {
      vi.useRealTimers();
      await h.stop();
    }
  });

  it('Slack answering at last with a refusal of the installation: the check stops and says so, once', async () => {
    const h = await outOfReachAtStart();
    try {
      h.api.orgWideInstall = true;
      vi.advanceTimersByTime(TEAM_RETRY_MS);
      const error = await eventually(() => h.log.errors().find((e) => /organization-wide installation/.test(String(e.msg))), 5_000, 'the error logged');
      expect(error.msg).toMatch(/^SLACK_BOT_TOKEN: .*; Slack requests are refused until Doorman restarts with another token$/);
      const asked = h.api.calls.filter((c) => c.method === 'auth.test').length;
      vi.advanceTimersByTime(3 * TEAM_RETRY_MS);
      await pause(300);
      expect(h.api.calls.filter((c) => c.method === 'auth.test')).toHaveLength(asked);
      expect(await members(h)).toContain(PROFILE_UNAVAILABLE);
    } finally {
      vi.useRealTimers();
      await h.stop();
    }
  });
});
