import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { InvitesService } from '../../src/invites/service.js';
import { ExpirySweep, SWEEP_MARKS } from '../../src/jobs/expiry-sweep.js';
import type { NoticePayload } from '../../src/notices/queue.js';
import { createTestDatabase, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { ADMIN, ADMIN2, DAY, noticeIdOf, pause, queuedNotices, SYSTEM_ACTOR } from '../support/slack-world.js';
import { ServiceProcess, waitForHttp } from '../support/service.js';
import { SlackApiStandIn } from '../support/slack-api.js';
import { freePort } from '../support/net.js';
import { TestSmtpServer } from '../support/smtp.js';
import { SIGNING_SECRET } from '../support/slack-world.js';

/**
 * Each expiry announced exactly once, also with several instances on one PostgreSQL: two real service
 * processes (`node --import tsx src/main.ts`, as `npm start` runs it) on one fresh database, with
 * 200 invitations expiring at the same moment. Every one is announced exactly once across both.
 */

const INVITERS = ['U0INV1', 'U0INV2', 'U0INV3', 'U0INV4', 'U0INV5'];
type Expired = Extract<NoticePayload, { notice: 'expired' }>;

describe('two service processes on one PostgreSQL database', () => {
  let test: TestDatabase;
  let api: SlackApiStandIn;
  let smtp: TestSmtpServer;
  const dirs: string[] = [];
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    [test, api, smtp] = await Promise.all([createTestDatabase('pg'), SlackApiStandIn.start('xoxb-test'), TestSmtpServer.create()]);
    // Everyone the DMs go to is a user of the workspace (Slack answers channel_not_found for anyone else).
    for (const user of [...INVITERS, ADMIN, ADMIN2, 'U0HELD', 'U0ANEW']) api.users.set(user, { email: `${user.toLowerCase()}@corp.test`, name: user });
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.dispose()));
    await Promise.all([api.stop(), smtp.stop(), test.destroy()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('announces each of 200 invitations expiring together exactly once, one DM per recipient', async () => {
    const ports = [await freePort(), await freePort()];
    for (const port of ports) {
      const dir = mkdtempSync(path.join(tmpdir(), 'doorman-instance-'));
      dirs.push(dir);
      services.push(
        new ServiceProcess({
          PORT: String(port),
          DATA_DIR: dir,
          DATABASE_URL: test.url,
          APP_SECRET: TEST_SECRET,
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          SMTP_URL: smtp.url,
          INVITE_TTL: '2s',
          EXPIRY_SWEEP_INTERVAL: '1s',
          SLACK_BOT_TOKEN: 'xoxb-test',
          SLACK_SIGNING_SECRET: SIGNING_SECRET,
          SLACK_API_URL: api.url,
          SLACK_ADMIN_USER_IDS: `${ADMIN},${ADMIN2}`,
          LOG_LEVEL: 'info',
        }),
      );
    }
    await Promise.all(services.map((s, i) => waitForHttp(`http://127.0.0.1:${ports[i]}/healthz`, s, 30_000)));
    for (const s of services) await s.waitForLog(/Slack is on/);

    // 200 invitations, all made at one instant (so all expire at one instant, 6 s on: time enough to
    // store them on a busy machine before the first expires), through the
    // domain service on the same database: 30 from each of five Slack users, 50 from the CLI.
    const clock = new ManualClock(Date.now() + 1_000);
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 6_000 });
    const byRecipient = new Map<string, string[]>();
    for (const inviter of INVITERS) {
      const emails = Array.from({ length: 30 }, (_, i) => `${inviter.toLowerCase()}-${i}@corp.test`);
      byRecipient.set(inviter, (await invites.inviteMany({ emails, actor: { type: 'slack', slackUserId: inviter } })).invitationIds);
    }
    const fromCli = (await invites.inviteMany({ emails: Array.from({ length: 50 }, (_, i) => `cli-${i}@corp.test`), actor: SYSTEM_ACTOR })).invitationIds;
    byRecipient.set(ADMIN, fromCli);
    byRecipient.set(ADMIN2, fromCli);
    const all = [...INVITERS.flatMap((u) => byRecipient.get(u)!), ...fromCli];
    expect(new Set(all).size).toBe(200);
    const expiresAt = clock.now() + 6_000;
    expect(Date.now()).toBeLessThan(expiresAt); // made before any of them expired

    const dms = () => api.callsTo('chat.postMessage').filter((c) => /^U/.test(String(c.args.channel)));
    await api.waitFor(() => dms().length >= 7, 20_000, 'seven expiry DMs');
    // Several more sweeps of each instance: nothing more.
    await pause(3_500);

    // The sweep that announced them looked up to a moment at or after their expiry.
    const mark = await test.db('job_cursors').where({ name: SWEEP_MARKS.expired }).first();
    expect(Number(mark.position)).toBeGreaterThanOrEqual(expiresAt);

    const rows = await test.db('outbox').where({ kind: 'slack_notice' }).orderBy('id');
    const notices = rows.map((r: { id: number; state: string; payload: string }) => ({ id: Number(r.id), state: r.state, payload: JSON.parse(r.payload) as Expired }));
    expect(notices.every((n) => n.state === 'done' && n.payload.notice === 'expired')).toBe(true);

    // One DM per recipient, and every invitation in exactly one DM of each of its recipients.
    const delivered = dms();
    expect(delivered.map((c) => c.args.channel).sort()).toEqual([...byRecipient.keys()].sort());
    const announced = new Map<string, number>();
    for (const dm of delivered) {
      const notice = notices.find((n) => n.id === noticeIdOf(dm))!;
      expect(notice.payload.recipient).toBe(dm.args.channel);
      expect([...notice.payload.invitationIds].sort()).toEqual([...byRecipient.get(dm.args.channel)!].sort());
      expect(dm.args.text).toBe(`${notice.payload.invitationIds.length} invitations expired`);
      for (const id of notice.payload.invitationIds) announced.set(`${dm.args.channel}/${id}`, (announced.get(`${dm.args.channel}/${id}`) ?? 0) + 1);
    }
    expect(announced.size).toBe(250); // 150 to their Slack inviters, 50 to each of the two admins
    expect([...announced.values()].every((n) => n === 1)).toBe(true);
    expect(notices).toHaveLength(7);

    // Both instances stop cleanly.
    for (const s of services) s.kill('SIGTERM');
    for (const s of services) expect((await s.waitForExit(20_000)).code).toBe(0);
  }, 90_000);
});

describe('concurrent sweeps on one PostgreSQL database (in-process)', () => {
  let test: TestDatabase;
  let second: Db;

  beforeAll(async () => {
    test = await createTestDatabase('pg');
    second = createDb(test.config);
  });
  afterAll(async () => {
    await second.destroy();
    await test.destroy();
  });

  it('never splits one sweep\'s expiries for a recipient across two DMs, and never claims one twice', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 9));
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY });
    // Claimed in batches of 25, so each sweep's transaction takes many statements: plenty of room to interleave.
    const settings = { bootstrapAdmins: [ADMIN], reminderMs: 0, batchSize: 25 };
    const a = new ExpirySweep(test.db, clock, settings);
    const b = new ExpirySweep(second, clock, settings);
    for (let round = 0; round < 6; round++) {
      const ids: string[] = [];
      for (const inviter of INVITERS) {
        const emails = Array.from({ length: 40 }, (_, i) => `r${round}-${inviter.toLowerCase()}-${i}@corp.test`);
        ids.push(...(await invites.inviteMany({ emails, actor: { type: 'slack', slackUserId: inviter } })).invitationIds);
      }
      clock.advance(7 * DAY + 1);
      const results = await Promise.all([a.run(), b.run(), a.run(), b.run()]);
      expect(results.reduce((sum, r) => sum + r.expired, 0), `round ${round}`).toBe(200);
      const rows = await test.db('outbox').where({ kind: 'slack_notice' });
      const thisRound = rows.map((r: { payload: string }) => JSON.parse(r.payload) as Expired).filter((p) => p.invitationIds.some((id) => ids.includes(id)));
      expect(thisRound.map((p) => p.recipient).sort(), `round ${round}: one DM per recipient`).toEqual([...INVITERS].sort());
      expect(thisRound.flatMap((p) => p.invitationIds).sort()).toEqual([...ids].sort());
    }
  }, 60_000);

  it('waits for a row another writer holds (e.g. an email\'s delivery being recorded) instead of leaving it for a second DM', async () => {
    // Later than the previous test's clock ended (6 rounds of a week on from November): time moves forward.
    const clock = new ManualClock(Date.UTC(2027, 1, 22, 9));
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY });
    const ids = (await invites.inviteMany({ emails: ['held1@corp.test', 'held2@corp.test', 'held3@corp.test'], actor: { type: 'slack', slackUserId: 'U0HELD' } })).invitationIds;
    clock.advance(7 * DAY + 1);
    const sweep = new ExpirySweep(test.db, clock, { bootstrapAdmins: [ADMIN], reminderMs: 0 });
    // Another transaction updates one of them (as the email worker records a delivery) and commits a moment later.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const writer = second.transaction(async (trx) => {
      await trx('invitations').where({ id: ids[1] }).update({ delivery_state: 'sent' });
      locked();
      await held;
    });
    await isLocked;
    const first = sweep.run();
    await pause(300);
    release();
    await writer;
    const results = [await first, await sweep.run()];
    expect(results.map((r) => r.expired)).toEqual([3, 0]);
    const notices = (await test.db('outbox').where({ kind: 'slack_notice' })).map((r: { payload: string }) => JSON.parse(r.payload) as Expired).filter((p) => p.recipient === 'U0HELD');
    expect(notices).toHaveLength(1);
    expect([...notices[0]!.invitationIds].sort()).toEqual([...ids].sort());
  });

  it('an invitation sent anew while the sweep runs is not announced as expired', async () => {
    const clock = new ManualClock(Date.UTC(2027, 5, 22, 9)); // after the tests above: time moves forward
    const invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY });
    const ids = (await invites.inviteMany({ emails: ['n1@corp.test', 'n2@corp.test', 'n3@corp.test'], actor: { type: 'slack', slackUserId: 'U0ANEW' } })).invitationIds;
    clock.advance(7 * DAY + 1);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // As "Send new invitation" does: the expiry moves a week on, in a transaction that commits later.
    const writer = second.transaction(async (trx) => {
      await trx('invitations').where({ id: ids[1] }).update({ expires_at: clock.now() + 7 * DAY });
      locked();
      await held;
    });
    await isLocked;
    const running = new ExpirySweep(test.db, clock, { bootstrapAdmins: [], reminderMs: 0 }).run();
    await pause(300);
    release();
    await writer;
    expect((await running).expired).toBe(2);
    const payloads = (await queuedNotices(test.db)).map((n) => n.payload as Expired).filter((p) => p.recipient === 'U0ANEW');
    expect(payloads.flatMap((p) => p.invitationIds).sort()).toEqual([ids[0], ids[2]].sort());
  });
});
