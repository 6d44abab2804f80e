import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { sweepOnce } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logger.js';
import type { Actor } from '../../src/shared/actor.js';
import { createTestDatabase, DIALECTS, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { tempDataDir } from '../support/service.js';
import { eventually } from '../support/wait.js';
import { TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js';

const DAY = 86_400_000;
const ANA: Actor = { type: 'member', memberId: 'usr_ana', name: 'Ana' };

describe.each(DIALECTS)('approval requests lapse with Slack off (%s)', (dialect) => {
  let test: TestDatabase | undefined;
  let app: RunningApp | undefined;
  let data: ReturnType<typeof tempDataDir> | undefined;

  afterEach(async () => {
    await app?.stop();
    await test?.destroy();
    data?.cleanup();
  });

  it('a request nobody decided within INVITE_TTL lapses at the sweep, without Slack and without webhooks', async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    const clock = new ManualClock();
    const config = loadConfig({ DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PORT: '0', PUBLIC_URL: 'http://doorman.test', INVITE_TTL: '7d', EXPIRY_SWEEP_INTERVAL: '1s', INVITE_ALLOWED_DOMAINS: 'acme.com' });
    app = await startApp(config, createLogger('silent'), { clock });
    await app.services.db('members').insert({ id: 'usr_ana', email: 'ana@acme.com', role: 'admin', state: 'active', created_at: 0, updated_at: 0 });
    const summary = await app.services.invites.inviteMany({ emails: 'out@elsewhere.io', actor: ANA });
    const id = summary.awaitingApproval![0]!.invitationId;
    // Within INVITE_TTL a sweep leaves it waiting (the sweep's lapse run here, not left to the timer).
    clock.advance(6 * DAY);
    await app.services.invites.lapseDueRequests();
    expect((await app.services.invites.get(id)).status).toBe('awaiting_approval');
    clock.advance(2 * DAY);
    const lapsed = await eventually(async () => {
      const invitation = await app!.services.invites.get(id);
      return invitation.approval?.decision === 'lapsed' ? invitation : undefined;
    }, 10_000, 'the request to lapse');
    expect(lapsed).toMatchObject({ status: 'revoked', approval: { decision: 'lapsed' } });
  });

  // A webhook endpoint makes the sweep run as a sweep without Slack; none, as the lapse alone.
  it.each([
    ['without webhooks', {}],
    ['with a webhook endpoint', { WEBHOOK_URLS: 'http://127.0.0.1:9/hook', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }],
  ])('%s, while an instance with Slack sweeps the same database, the lapse is left to it (it tells the approvers); once its promise passes, it lapses here', async (_name, env) => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    const clock = new ManualClock();
    const config = loadConfig({ DATABASE_URL: test.url, DATA_DIR: data.dir, APP_SECRET: TEST_SECRET, PORT: '0', PUBLIC_URL: 'http://doorman.test', INVITE_TTL: '7d', EXPIRY_SWEEP_INTERVAL: '1s', INVITE_ALLOWED_DOMAINS: 'acme.com', ...env });
    app = await startApp(config, createLogger('silent'), { clock });
    await app.services.db('members').insert({ id: 'usr_ana', email: 'ana@acme.com', role: 'admin', state: 'active', created_at: 0, updated_at: 0 });
    const summary = await app.services.invites.inviteMany({ emails: 'out@elsewhere.io', actor: ANA });
    const id = summary.awaitingApproval![0]!.invitationId;
    // What a sweep with Slack leaves: its promise to sweep again within the hour (made as the request falls due).
    await app.services.db('job_cursors').insert({ name: 'slack_sweeper', position: clock.now() + 8 * DAY + 3_600_000, updated_at: clock.now() + 8 * DAY });
    clock.advance(8 * DAY);
    const swept = () => app!.services.db('job_cursors').where({ name: 'slack_sweeper' }).first('updated_at');
    // Three sweep intervals of this instance, and a `doorman sweep` from its shell.
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    expect(await sweepOnce(app.services)).toMatchObject({ leftToSlack: true });
    expect((await app.services.invites.get(id)).status).toBe('awaiting_approval');
    expect(Number((await swept())!.updated_at)).toBe(clock.now());
    clock.advance(3_600_001);
    const lapsed = await eventually(async () => {
      const invitation = await app!.services.invites.get(id);
      return invitation.approval?.decision === 'lapsed' ? invitation : undefined;
    }, 10_000, 'the request to lapse');
    expect(lapsed).toMatchObject({ status: 'revoked', approval: { decision: 'lapsed' } });
  });
});
