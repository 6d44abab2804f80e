import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrationSource } from '../../src/db/migrations.js';
import { InvitesService } from '../../src/invites/service.js';
import { ExpirySweep, readMarks, SWEEP_MARKS } from '../../src/jobs/expiry-sweep.js';
import { createTestDatabase, DIALECTS, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { queuedNotices } from '../support/slack-world.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const INVITER = { type: 'slack', slackUserId: 'U0INVITER' } as const;

/**
 * The expiry sweep's marks (issue 6): how far each notice kind has looked, instead of a column per
 * invitation. What they must keep: each expiry and reminder announced once, a resend or new
 * invitation re-arming both, nothing written on the invitations, and an upgrade from the per-row
 * columns that neither repeats nor drops a notice.
 */
describe.each(DIALECTS)('expiry sweep marks (%s)', (dialect) => {
  let test: TestDatabase;
  let clock: ManualClock;
  let invites: InvitesService;
  const sweep = (reminderMs = DAY) => new ExpirySweep(test.db, clock, { bootstrapAdmins: ['U0ADMIN'], reminderMs, batchSize: 3 }).run();
  const marks = async () => Object.fromEntries(await readMarks(test.db));
  const listed = async (notice: 'expired' | 'reminder') =>
    (await queuedNotices(test.db))
      .map((n) => n.payload)
      .filter((p) => p.notice === notice)
      .flatMap((p) => ('invitationIds' in p ? [...(p.invitationIds ?? [])].sort() : []));

  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    clock = new ManualClock();
    invites = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY });
  });
  afterEach(async () => {
    await test.destroy();
  });

  it('a sweep without Slack claims nothing while an instance with Slack sweeps (its DMs would be lost), and sweeps for the webhooks once it is gone', async () => {
    const withoutSlack = () => new ExpirySweep(test.db, clock, { bootstrapAdmins: [], reminderMs: 0, notices: false }).run();
    const withSlack = () => new ExpirySweep(test.db, clock, { bootstrapAdmins: ['U0ADMIN'], reminderMs: 0, intervalMs: 60_000 }).run();
    const ids = (await invites.inviteMany({ emails: ['one@corp.test', 'two@corp.test'], actor: INVITER })).invitationIds;
    clock.advance(7 * DAY - 30 * 60_000);
    await withSlack(); // nothing due yet; the instance with Slack promises to sweep again within the hour
    clock.advance(31 * 60_000);
    expect(await withoutSlack()).toMatchObject({ expired: 0, leftToSlack: true });
    expect(await marks()).toEqual({});
    expect(await withSlack()).toMatchObject({ expired: 2, notices: 1 });
    expect(await listed('expired')).toEqual([...ids].sort());
    // The instance with Slack is gone for good: once its promise has passed, the sweep without it claims.
    await invites.inviteMany({ emails: 'three@corp.test', actor: INVITER });
    clock.advance(7 * DAY + 1);
    expect(await withoutSlack()).toMatchObject({ expired: 1, notices: 0 });
    expect((await withoutSlack()).leftToSlack).toBeUndefined();
  });

  it('counts the expiries nobody in Slack can be told of (no inviter in Slack, no admin to stand in), so the service can warn', async () => {
    await invites.inviteMany({ emails: 'from.cli@corp.test', actor: { type: 'system' } });
    await invites.inviteMany({ emails: 'from.slack@corp.test', actor: INVITER });
    clock.advance(7 * DAY + 1);
    const result = await new ExpirySweep(test.db, clock, { bootstrapAdmins: [], reminderMs: 0 }).run();
    expect(result).toMatchObject({ expired: 2, notices: 1, unheard: 1 });
    // With a stand-in, everyone is heard.
    await invites.inviteMany({ emails: 'later.cli@corp.test', actor: { type: 'system' } });
    clock.advance(7 * DAY + 1);
    expect(await new ExpirySweep(test.db, clock, { bootstrapAdmins: ['U0ADMIN'], reminderMs: 0 }).run()).not.toHaveProperty('unheard');
  });

  it('announces each expiry once across batches and sweeps, writes nothing on the invitations, and a new invitation re-arms it', async () => {
    const ids = (await invites.inviteMany({ emails: Array.from({ length: 8 }, (_, i) => `e${i}@corp.test`), actor: INVITER })).invitationIds;
    await invites.revoke(ids[7]!, INVITER);
    const t0 = clock.now();
    expect(await sweep(0)).toEqual({ expired: 0, reminded: 0, notices: 0 });
    expect(await marks()).toEqual({}); // a sweep that finds nothing writes nothing

    clock.advance(7 * DAY);
    const before = await test.db('invitations').orderBy('id');
    // Batches of 3 over 7 rows expiring at one instant: the keyset walks the ties by id.
    expect(await sweep(0)).toEqual({ expired: 7, reminded: 0, notices: 1 });
    expect(await test.db('invitations').orderBy('id')).toEqual(before);
    expect(await listed('expired')).toEqual([...ids.slice(0, 7)].sort());
    expect(await marks()).toEqual({ [SWEEP_MARKS.expired]: t0 + 7 * DAY });
    for (let i = 0; i < 3; i++) {
      clock.advance(HOUR);
      expect((await sweep(0)).expired).toBe(0);
    }

    // A new invitation for one of them: announced again at its own, later expiry — once.
    await invites.renew(ids[0]!, INVITER);
    clock.advance(7 * DAY - 1);
    expect((await sweep(0)).expired).toBe(0);
    clock.advance(1);
    expect(await sweep(0)).toEqual({ expired: 1, reminded: 0, notices: 1 });
    expect((await sweep(0)).expired).toBe(0);
    expect((await listed('expired')).filter((id) => id === ids[0])).toHaveLength(2);
  });

  it('reminds once inside the window, skips invitations sent within it, and a resend re-arms the reminder', async () => {
    const [a, b] = (await invites.inviteMany({ emails: ['a@corp.test', 'b@corp.test'], actor: INVITER })).invitationIds;
    clock.advance(6 * DAY - 1);
    expect((await sweep()).reminded).toBe(0);
    clock.advance(1);
    expect(await sweep()).toEqual({ expired: 0, reminded: 2, notices: 1 });
    expect(await marks()).toEqual({ [SWEEP_MARKS.reminder]: clock.now() + DAY });
    clock.advance(HOUR);
    expect((await sweep()).reminded).toBe(0);

    // Resent 23 hours before expiry: a new week, so a reminder 6 days on; the other expires.
    await invites.resend(a!, INVITER);
    clock.advance(23 * HOUR);
    expect(await sweep()).toEqual({ expired: 1, reminded: 0, notices: 1 });
    clock.advance(6 * DAY - 23 * HOUR);
    expect((await sweep()).reminded).toBe(1);
    expect(await listed('reminder')).toEqual([...[a!, b!].sort(), a!]);

    // A one-hour invitation (sent inside the 24-hour window) is never reminded.
    const short = new InvitesService(test.db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: HOUR });
    const [c] = (await short.inviteMany({ emails: ['c@corp.test'], actor: INVITER })).invitationIds;
    for (let i = 0; i < 3; i++) {
      expect((await sweep()).reminded).toBe(0);
      clock.advance(20 * 60_000);
    }
    expect((await sweep()).expired).toBe(1);
    expect((await listed('expired')).at(-1)).toBe(c);
  });

  it('an instance whose clock lags the last sweep\'s neither repeats nor misses an expiry', async () => {
    await invites.inviteMany({ emails: ['x@corp.test'], actor: INVITER });
    clock.advance(7 * DAY + 10_000);
    expect((await sweep(0)).expired).toBe(1);
    const ahead = await marks();
    await invites.inviteMany({ emails: ['y@corp.test'], actor: INVITER });
    clock.advance(-10_000); // another instance, whose clock is 10 s behind
    expect((await sweep(0)).expired).toBe(0);
    expect(await marks()).toEqual(ahead);
    await invites.inviteMany({ emails: ['z@corp.test'], actor: INVITER });
    clock.advance(7 * DAY + 5_000);
    // z expired 5 s ago; y, made by the clock ahead, expires 5 s later: each announced once, in turn.
    expect((await sweep(0)).expired).toBe(1);
    clock.advance(10_000);
    expect((await sweep(0)).expired).toBe(1);
    expect((await marks())[SWEEP_MARKS.expired]).toBeGreaterThan(ahead[SWEEP_MARKS.expired]!);
    expect((await listed('expired')).length).toBe(3);
  });

  it('upgrading from the per-row columns: what was announced stays announced, what was not is announced next', async () => {
    // As the old sweep left it: two expired and announced (and reminded before), one expired while
    // Slack was off (never announced), one live and reminded, one live and not yet due.
    const t0 = clock.now();
    const old = (await invites.inviteMany({ emails: ['o1@corp.test', 'o2@corp.test'], actor: INVITER })).invitationIds;
    clock.advance(HOUR);
    const [missed] = (await invites.inviteMany({ emails: ['missed@corp.test'], actor: INVITER })).invitationIds;
    clock.advance(6 * DAY + 2 * HOUR);
    const [reminded] = (await invites.inviteMany({ emails: ['reminded@corp.test'], actor: INVITER })).invitationIds;
    const [later] = (await invites.inviteMany({ emails: ['later@corp.test'], actor: INVITER })).invitationIds;
    // Back to the schema before the marks (this also runs the migration's down, and those of later
    // ones); the invitations were made by today's code, the marks are set as the old sweep set them.
    while ((await test.db.migrate.currentVersion({ migrationSource })) >= '20261129') await test.db.migrate.down({ migrationSource });
    const columns = await test.db('invitations').columnInfo();
    expect(Object.keys(columns)).toEqual(expect.arrayContaining(['expiry_notified_at', 'reminder_notified_at']));
    await test.db('invitations').whereIn('id', old).update({ expiry_notified_at: t0 + 7 * DAY + 60_000, reminder_notified_at: t0 + 6 * DAY });
    clock.advance(6 * DAY);
    await test.db('invitations').where({ id: reminded }).update({ reminder_notified_at: clock.now() });
    await test.db('invitations').where({ id: later }).update({ expires_at: clock.now() + 3 * DAY });

    expect((await test.db.migrate.latest({ migrationSource }))[1]).toContain('20261129_0005_sweep_marks');
    expect(Object.keys(await test.db('invitations').columnInfo())).not.toContain('expiry_notified_at');
    expect(await marks()).toEqual({ [SWEEP_MARKS.expired]: t0 + 7 * DAY, [SWEEP_MARKS.reminder]: Number((await test.db('invitations').where({ id: reminded }).first()).expires_at) });

    expect(await sweep()).toEqual({ expired: 1, reminded: 0, notices: 1 });
    expect(await listed('expired')).toEqual([missed]);
    clock.advance(2 * DAY + 1);
    expect(await sweep()).toEqual({ expired: 1, reminded: 1, notices: 2 });
    expect(await listed('reminder')).toEqual([later]);
    expect(await listed('expired')).toEqual([missed, reminded]);
  });
});
