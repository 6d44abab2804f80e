import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { SLACK_APPROVAL } from '../../src/notices/approvals.js';
import type { OutboxRow } from '../../src/outbox/outbox.js';
import type { Actor } from '../../src/shared/actor.js';
import { approvalMessageHandlers } from '../../src/slack/notices/approval-messages.js';
import { noticeClient } from '../../src/slack/notices/handler.js';
import { ChannelPacer } from '../../src/slack/notices/pacer.js';
import { SlackAppHold } from '../../src/slack/notices/refusal-or-retry.js';
import { ADMIN, ADMIN2, BOT_TOKEN, SlackWorld } from '../support/slack-world.js';

const REQUESTER: Actor = { type: 'slack', slackUserId: ADMIN, name: 'Bootstrap Boss' };

/** The database, but the first write to `table` fails as a connection cut by a failover would. */
function cutOnceAt(db: Db, table: string): Db {
  let cut = false;
  return new Proxy(db, {
    apply(target, thisArg, args: unknown[]) {
      const query = Reflect.apply(target, thisArg, args) as { then: (...a: unknown[]) => unknown; insert: (...a: unknown[]) => unknown };
      if (args[0] !== table || cut) return query;
      const insert = query.insert.bind(query);
      query.insert = (...rows: unknown[]) => {
        cut = true;
        insert(...rows);
        const failover = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
        query.then = (...handlers: unknown[]) => Promise.reject(failover).then(...(handlers as [never, never]));
        return query;
      };
      return query;
    },
  }) as Db;
}

describe('an approval request posted just before the database fails', () => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start('sqlite', { env: { INVITE_ALLOWED_DOMAINS: 'corp.test' }, runWorker: false, logLevel: 'error' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('is posted once and its copy kept (recorded when the database is back), so a decision redraws it', async () => {
    await h.services.invites.inviteMany({ emails: 'outsider@other.io', actor: REQUESTER });
    const items = (await h.db.db('outbox').where({ kind: SLACK_APPROVAL, state: 'pending' })) as OutboxRow[];
    const toAdmin2 = items.find((item) => (JSON.parse(item.payload) as { recipient: string }).recipient === ADMIN2)!;
    const [deliver] = approvalMessageHandlers(
      { db: cutOnceAt(h.db.db, 'approval_request_messages'), settings: { bootstrapAdmins: [ADMIN, ADMIN2] }, invites: h.services.invites, clock: h.clock, logger: h.log.logger },
      noticeClient(BOT_TOKEN, `${h.api.url}/`),
      new ChannelPacer(h.clock),
      new SlackAppHold(h.clock, h.log.logger),
    );
    await expect(deliver!.deliver(toAdmin2)).resolves.toEqual({ result: 'done' });
    const posts = h.api.callsTo('chat.postMessage').filter((c) => c.args.channel === ADMIN2);
    expect(posts).toHaveLength(1);
    const copies = await h.db.db('approval_request_messages').where({ channel: `D${ADMIN2.slice(1)}` });
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({ request_id: expect.any(String) });
    expect(h.log.errors()).toEqual([]);
  });
});
