import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.js';
import type { InvitationRow } from '../../src/invites/model.js';
import type { MemberRow } from '../../src/members/model.js';
import type { Role } from '../../src/members/roles.js';
import type { OutboxRow } from '../../src/outbox/outbox.js';
import type { Actor } from '../../src/shared/actor.js';
import { DomainError } from '../../src/shared/errors.js';
import { WEBHOOK, type WebhookPayload } from '../../src/webhooks/webhook-events.js';
import { createTestDatabase, DIALECTS, ManualClock, type TestDatabase } from '../support/db.js';
import { servicesFor, stopServices, tempDataDir } from '../support/service.js';
import { TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js';

const ROLES: Role[] = ['admin', 'member', 'developer'];
const DAY = 86_400_000;

/** Every key of a JSON value, however deep. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)]);
  return [];
}

/** What an invitation and a member go through, with fuzzed inputs. */
const journey = fc.record({
  local: fc.stringMatching(/^[a-z0-9]{1,12}([._+-][a-z0-9]{1,8}){0,3}$/),
  domain: fc.constantFrom('example.io', 'acme.co.uk', 'xn--bcher-kva.example'),
  role: fc.constantFrom(...ROLES),
  newRole: fc.constantFrom(...ROLES),
  message: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
  firstName: fc.string({ maxLength: 60 }),
  lastName: fc.string({ maxLength: 60 }),
  password: fc.string({ minLength: 8, maxLength: 80, unit: 'grapheme' }),
  inviterName: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
  ending: fc.constantFrom('accept', 'revoke', 'expire'),
});

describe.each(DIALECTS)('no webhook payload carries a secret, fuzzed (%s)', (dialect) => {
  let test: TestDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let s: Services;
  const clock = new ManualClock();
  let run = 0;

  beforeAll(async () => {
    test = await createTestDatabase(dialect);
    data = tempDataDir();
    s = servicesFor({ DATABASE_URL: test.url, DATA_DIR: data.dir, WEBHOOK_URLS: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }, { clock });
    // An admin who stays, so any member may be demoted or deactivated.
    await s.members.create({ email: 'standing-admin@example.io', role: 'admin' }, { type: 'system' });
  });

  afterAll(async () => {
    await stopServices([s]);
    await test.destroy();
    data.cleanup();
  });

  it('tokens, links, password hashes and API tokens never reach an event', async () => {
    await fc.assert(
      fc.asyncProperty(journey, async (input) => {
        run++;
        const actor: Actor = { type: 'slack', slackUserId: 'U0FUZZ', name: input.inviterName };
        const email = `${run}.${input.local}@${input.domain}`;
        const secrets: string[] = [];
        const firstRow = await s.db('outbox').max({ id: 'id' }).first();
        const since = Number((firstRow as { id: number | null } | undefined)?.id ?? 0);

        const summary = await s.invites.inviteMany({ emails: email, role: input.role, actor, message: input.message, inviterName: input.inviterName });
        // The admin role waits for a second person (the rule "Policy"): approved, its events join the journey.
        const held = summary.awaitingApproval?.[0]?.invitationId;
        if (held) await s.invites.approve(held, { type: 'slack', slackUserId: 'U0APPROVER', name: input.inviterName });
        const id = held ?? summary.invitationIds[0]!;
        const { link } = await s.invites.copyLink(id);
        const token = new URL(link).searchParams.get('token')!;
        secrets.push(link, token);
        await s.invites.resend(id, actor);

        let memberId: string | undefined;
        if (input.ending === 'accept') {
          try {
            memberId = (await s.invites.accept({ token, firstName: input.firstName, lastName: input.lastName, password: input.password })).member.id;
          } catch (error) {
            // A name the form refuses: the invitation stays pending, which is a journey too.
            if (!(error instanceof DomainError)) throw error;
          }
        } else if (input.ending === 'revoke') {
          await s.invites.revoke(id, actor);
        } else {
          clock.advance(8 * DAY);
          const renewed = await s.invites.renew(id, actor);
          // Sent anew, the admin role waits for approval again.
          if (renewed.status === 'awaiting_approval') await s.invites.approve(renewed.id, { type: 'slack', slackUserId: 'U0APPROVER', name: input.inviterName });
          const next = await s.invites.copyLink(renewed.id);
          secrets.push(next.link, new URL(next.link).searchParams.get('token')!);
        }
        if (memberId) {
          secrets.push(await s.members.issueApiToken(memberId, actor));
          const stored = (await s.db<MemberRow>('members').where({ id: memberId }).first())!;
          secrets.push(stored.password_hash!, stored.api_token_hash!);
          await s.members.setRole(memberId, input.newRole, actor);
          await s.members.deactivate(memberId, actor);
        }
        const { member, apiToken } = await s.members.create({ email: `api.${email}`, role: input.role, withApiToken: true }, actor);
        secrets.push(apiToken!);
        await s.members.deactivate(member.id, actor);
        const row = (await s.db<InvitationRow>('invitations').where({ id }).first())!;
        secrets.push(row.token_hash, row.token_nonce);

        const queued = (await s.db<OutboxRow>('outbox').where({ kind: WEBHOOK }).where('id', '>', since)) as OutboxRow[];
        // Invite, resend and the ending at least: the check below looks at real events.
        expect(queued.length).toBeGreaterThanOrEqual(3);
        for (const item of queued) {
          const payload = JSON.parse(item.payload) as WebhookPayload;
          for (const secret of secrets) {
            expect(item.payload).not.toContain(secret);
            expect(payload.body).not.toContain(secret);
          }
          expect(keysOf(JSON.parse(payload.body)).filter((key) => /token|password|nonce|hash|secret|link|url/i.test(key))).toEqual([]);
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
