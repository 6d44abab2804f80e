import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Actor } from '../../src/shared/actor.js';
import { createTestDatabase, DIALECTS, ManualClock, TEST_SECRET, type TestDatabase } from '../support/db.js';
import { tempDataDir } from '../support/service.js';
import { eventually } from '../support/wait.js';

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
});
