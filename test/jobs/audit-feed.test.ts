import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/audit/audit.js';
import { AuditFeed, auditLine, CATCH_UP_ENTRIES } from '../../src/jobs/audit-feed.js';
import { createTestDatabase, DIALECTS, ManualClock, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/wait.js';

describe.each(DIALECTS)('audit channel feed (%s)', (dialect) => {
  let test: TestDatabase;
  let clock: ManualClock;
  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    clock = new ManualClock();
  });
  afterEach(async () => {
    await test.destroy();
  });

  const audit = (email: string) =>
    test.db.transaction((trx) => recordAudit(trx, clock.now(), { type: 'slack', slackUserId: 'U0ADMIN' }, [{ action: 'invite', subjectType: 'invitation', subjectId: 'invite_1', details: { email, role: 'member' } }]));

  it('starts at the newest entry, posts later ones once, and backs off while Slack refuses', async () => {
    await audit('before@x.io');
    const posted: string[][] = [];
    let refuse = false;
    const feed = new AuditFeed(test.db, clock, async (lines) => {
      if (refuse) throw new Error('not_in_channel');
      posted.push(lines);
    });
    expect(await feed.run()).toBe(0); // history is not replayed
    await audit('a@x.io');
    refuse = true;
    await expect(feed.run()).rejects.toThrow('not_in_channel');
    // Within the backoff nothing is tried, and the position stays where it was.
    clock.advance(1_000);
    expect(await feed.run()).toBe(0);
    refuse = false;
    clock.advance(1_001);
    expect(await feed.run()).toBe(1);
    expect(await feed.run()).toBe(0);
    expect(posted).toEqual([['<@U0ADMIN> invited a@x.io as member']]);
  });

  it('long lines (a deny all with a long reason) go in messages of at most 3,000 characters, each line once, in order', async () => {
    const feed = new AuditFeed(test.db, clock, async (lines) => void posted.push(lines));
    const posted: string[][] = [];
    expect(await feed.run()).toBe(0);
    const reason = 'Not before the contract is signed & countersigned; '.repeat(10);
    await test.db.transaction((trx) =>
      recordAudit(trx, clock.now(), { type: 'slack', slackUserId: 'U0ADMIN' }, Array.from({ length: 20 }, (_, i) => ({ action: 'deny' as const, subjectType: 'invitation' as const, subjectId: `invite_${i}`, details: { email: `person${i}@other.io`, reason } }))),
    );
    while ((await feed.run()) > 0);
    expect(posted.length).toBeGreaterThan(1);
    for (const message of posted) expect(message.join('\n').length).toBeLessThanOrEqual(3_000);
    expect(posted.flat().map((line) => /person(\d+)@/.exec(line)?.[1])).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('a second feed (another instance) does not post while the first holds the lease', async () => {
    const posted: string[] = [];
    let release: () => void = () => undefined;
    const slow = new AuditFeed(test.db, clock, (lines) => new Promise<void>((resolve) => { posted.push(...lines); release = resolve; }));
    const other = new AuditFeed(test.db, clock, async (lines) => { posted.push(...lines.map((l) => `other: ${l}`)); });
    await slow.run(); // sets the cursor at the start
    await audit('b@x.io');
    const first = slow.run();
    // The first is posting (it holds the lease) before the other looks.
    for (let i = 0; posted.length === 0; i++) {
      if (i > 1_000) throw new Error('the first feed never posted');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await other.run()).toBe(0);
    release();
    expect(await first).toBe(1);
    expect(await other.run()).toBe(0);
    expect(posted).toEqual(['<@U0ADMIN> invited b@x.io as member']);
  });

  it('a feed that stalls past its lease while posting does not move the cursor back once another has moved it on', async () => {
    const posted: string[] = [];
    let release: () => void = () => undefined;
    const stalled = new AuditFeed(test.db, clock, (lines) => new Promise<void>((resolve) => { posted.push(...lines); release = resolve; }));
    const other = new AuditFeed(test.db, clock, async (lines) => { posted.push(...lines.map((l) => `other: ${l}`)); });
    await stalled.run();
    await audit('b@x.io');
    const first = stalled.run();
    await eventually(() => posted.length === 1, 10_000, 'the first feed to post');
    // Its lease runs out: the other instance takes over, posts b again (the one repeat a stall may
    // cost), then c.
    clock.advance(61_000);
    expect(await other.run()).toBe(1);
    await audit('c@x.io');
    expect(await other.run()).toBe(1);
    release();
    await first;
    await audit('d@x.io');
    expect(await other.run()).toBe(1);
    expect(posted).toEqual(['<@U0ADMIN> invited b@x.io as member', 'other: <@U0ADMIN> invited b@x.io as member', 'other: <@U0ADMIN> invited c@x.io as member', 'other: <@U0ADMIN> invited d@x.io as member']);
  });

  it('a feed starting after a break in which none ran (the channel unset, then set again) posts what was written meanwhile, or only the last of it when there is much; a restart keeps its place', async () => {
    const posted: string[] = [];
    const post = async (lines: string[]) => { posted.push(...lines); };
    const drain = async (feed: AuditFeed) => {
      let total = 0;
      for (let n = await feed.run(); n > 0; n = await feed.run()) total += n;
      return total;
    };
    const write = async (tag: string, count: number) => {
      const rows = Array.from({ length: count }, (_, i) => ({ at: clock.now(), actor_type: 'slack', actor_id: 'U0ADMIN', action: 'invite', subject_type: 'invitation', subject_id: `invite_${tag}${i}`, details: JSON.stringify({ email: `${tag}${i}@x.io`, role: 'member' }) }));
      for (let i = 0; i < rows.length; i += 500) await test.db('audit_log').insert(rows.slice(i, i + 500));
    };
    await new AuditFeed(test.db, clock, post).run();
    // Unset for a few hours: the little written meanwhile follows.
    await write('short', 3);
    clock.advance(3 * 3_600_000);
    expect(await drain(new AuditFeed(test.db, clock, post))).toBe(3);
    // Unset for months with much written meanwhile by people using the service: only the last of it.
    clock.advance(90 * 24 * 3_600_000);
    await write('long', CATCH_UP_ENTRIES + 5);
    posted.length = 0;
    expect(await drain(new AuditFeed(test.db, clock, post))).toBe(CATCH_UP_ENTRIES);
    expect(posted[0]).toBe('<@U0ADMIN> invited long5@x.io as member');
    expect(posted.at(-1)).toBe(`<@U0ADMIN> invited long${CATCH_UP_ENTRIES + 4}@x.io as member`);
    // A restart (the cursor fed a moment ago) keeps its place, however much waits.
    await write('restart', CATCH_UP_ENTRIES + 5);
    expect(await drain(new AuditFeed(test.db, clock, post))).toBe(CATCH_UP_ENTRIES + 5);
  });

  it('a feed starting after the service was down for hours posts all that the CLI wrote meanwhile, however much: it was not turned off', async () => {
    let posted = 0;
    const post = async (lines: string[]) => { posted += lines.length; };
    await new AuditFeed(test.db, clock, post).run();
    clock.advance(5 * 3_600_000);
    // Imports run by an operator, and a `doorman sweep` that let a request lapse (an unnamed system entry).
    const rows = Array.from({ length: CATCH_UP_ENTRIES + 5 }, (_, i) => ({ at: clock.now(), actor_type: 'system', actor_id: i === 7 ? null : 'cli:ops', action: i === 7 ? 'approval_lapse' : 'invite', subject_type: 'invitation', subject_id: `invite_${i}`, details: null }));
    for (let i = 0; i < rows.length; i += 500) await test.db('audit_log').insert(rows.slice(i, i + 500));
    const feed = new AuditFeed(test.db, clock, post);
    while ((await feed.run()) > 0);
    expect(posted).toBe(CATCH_UP_ENTRIES + 5);
  });

  it('waits for an entry whose transaction commits after a later one, however long, and posts both in order', async () => {
    const posted: string[] = [];
    const feed = new AuditFeed(test.db, clock, async (lines) => { posted.push(...lines); });
    await feed.run(); // sets the cursor at the start
    let commit: () => void = () => undefined;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let written: () => void = () => undefined;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    // A long transaction takes its id first and commits last (PostgreSQL; SQLite has one writer at a time).
    const slow = test.db.transaction(async (trx) => {
      await recordAudit(trx, clock.now(), { type: 'slack', slackUserId: 'U0ADMIN' }, [{ action: 'invite', subjectType: 'invitation', subjectId: 'invite_1', details: { email: 'slow@x.io', role: 'member' } }]);
      written();
      await committed;
    });
    if (dialect === 'pg') {
      await wrote;
      await audit('fast@x.io');
      // Seen, its horizon read, and minutes later still waited for: the transaction is still open.
      for (const step of [0, 1_001, 1, 5 * 60_000]) {
        clock.advance(step);
        expect(await feed.run()).toBe(0);
      }
    }
    commit();
    await slow;
    if (dialect !== 'pg') await audit('fast@x.io');
    expect(await feed.run()).toBe(2);
    expect(posted).toEqual(['<@U0ADMIN> invited slow@x.io as member', '<@U0ADMIN> invited fast@x.io as member']);
  });

  it('an entry whose transaction commits between the page\'s read and the check of its gap is posted, not passed over', async () => {
    if (dialect !== 'pg') return; // SQLite has one writer at a time: no gaps.
    let commit: () => void = () => undefined;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let written: () => void = () => undefined;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    let slow: Promise<void> | undefined;
    let commitBeforeCheck = false;
    let horizon = 0;
    // The feed's database, with the slow transaction committing just before the gap's check reads the snapshot.
    const racing = new Proxy(test.db, {
      get(target, prop, receiver) {
        if (prop !== 'raw') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<typeof target.raw>) => {
          if (commitBeforeCheck && String(args[0]).includes('pg_current_snapshot')) {
            commitBeforeCheck = false;
            commit();
            await slow;
            // Other tests' transactions on the server (a database being created) would hold the gap open anyway.
            await eventually(async () => Number((await target.raw(`SELECT count(*) AS n FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND backend_xid::text::bigint < ?`, [horizon])).rows[0].n) === 0, 20_000, 'older transactions ended');
          }
          return target.raw(...args);
        };
      },
    });
    const posted: string[] = [];
    const feed = new AuditFeed(racing, clock, async (lines) => { posted.push(...lines); });
    await feed.run();
    slow = test.db.transaction(async (trx) => {
      await recordAudit(trx, clock.now(), { type: 'slack', slackUserId: 'U0ADMIN' }, [{ action: 'invite', subjectType: 'invitation', subjectId: 'invite_1', details: { email: 'slow@x.io', role: 'member' } }]);
      written();
      await committed;
    });
    await wrote;
    await audit('fast@x.io');
    expect(await feed.run()).toBe(0); // the gap seen
    clock.advance(1_001);
    expect(await feed.run()).toBe(0); // its horizon read
    horizon = Number((await test.db.raw('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS next')).rows[0].next);
    commitBeforeCheck = true;
    await feed.run();
    await feed.run();
    expect(posted).toEqual(['<@U0ADMIN> invited slow@x.io as member', '<@U0ADMIN> invited fast@x.io as member']);
  });

  it('passes a missing entry over once every transaction that could hold it has ended (rolled back)', async () => {
    const posted: string[] = [];
    const feed = new AuditFeed(test.db, clock, async (lines) => { posted.push(...lines); });
    await feed.run();
    await test.db.transaction(async (trx) => {
      await recordAudit(trx, clock.now(), { type: 'slack', slackUserId: 'U0ADMIN' }, [{ action: 'invite', subjectType: 'invitation', subjectId: 'invite_1', details: { email: 'gone@x.io', role: 'member' } }]);
      await trx.rollback();
    }).catch(() => undefined);
    await audit('kept@x.io');
    // SQLite hands a rolled-back id out again (no gap); PostgreSQL's sequence does not.
    if (dialect === 'pg') {
      expect(await feed.run()).toBe(0); // seen
      clock.advance(1_001);
      expect(await feed.run()).toBe(0); // its horizon read
      // Other tests' transactions on the same server may still be running for a moment.
      await eventually(async () => posted.length > 0 || (await feed.run()) > 0, 30_000, 'the gap given up');
    } else {
      expect(await feed.run()).toBe(1);
    }
    expect(posted).toEqual(['<@U0ADMIN> invited kept@x.io as member']);
  });

  it('words each kind of change with its actor', () => {
    const row = { id: 1, at: 0, actor_type: 'system' as const, actor_id: 'cli:root', action: 'role_change', subject_type: 'member', subject_id: 'usr_1', details: JSON.stringify({ from: 'member', to: 'admin' }) };
    expect(auditLine(row)).toBe('operator (cli:root) changed the role of member usr_1 (member → admin)');
  });

  it("puts someone's typing in as typed: a deny reason or an operator's name cannot mention the channel or link", () => {
    const deny = { id: 2, at: 0, actor_type: 'slack' as const, actor_id: 'U0ADMIN', action: 'deny', subject_type: 'invitation', subject_id: 'invite_1', details: JSON.stringify({ email: 'x@y.io', reason: 'no <!channel> & <https://evil.test|click>' }) };
    expect(auditLine(deny)).toBe('<@U0ADMIN> denied the invitation to x@y.io (no &lt;!channel&gt; &amp; &lt;https://evil.test|click&gt;)');
    const operator = { ...deny, actor_type: 'system' as const, actor_id: '<!here>', action: 'revoke', details: JSON.stringify({ email: 'x@y.io' }) };
    expect(auditLine(operator)).not.toContain('<!here>');
  });

  it('names the person who acted as they were named then, with their id, instead of mentioning (which would notify them of their own change); older entries keep the mention', async () => {
    const row = { id: 4, at: 0, actor_type: 'slack' as const, actor_id: 'U0ADMIN', action: 'revoke', subject_type: 'invitation', subject_id: 'invite_1', details: JSON.stringify({ email: 'x@y.io' }) };
    expect(auditLine({ ...row, actor_name: 'Ada Admin' })).toBe('*Ada Admin* (U0ADMIN) revoked the invitation to x@y.io');
    expect(auditLine({ ...row, actor_type: 'member', actor_id: 'usr_1', actor_name: 'Ada <!channel> & co' })).toBe('*Ada &lt;!channel&gt; &amp; co* (usr_1) revoked the invitation to x@y.io');
    expect(auditLine({ ...row, actor_name: null })).toBe('<@U0ADMIN> revoked the invitation to x@y.io');
    // Kept from the actor at the moment of the change.
    const test = await createTestDatabase('sqlite');
    try {
      await test.db.transaction((trx) => recordAudit(trx, 1, { type: 'slack', slackUserId: 'U0ADMIN', name: '  Ada   Admin ' }, [{ action: 'revoke', subjectType: 'invitation', subjectId: 'invite_1', details: { email: 'x@y.io' } }]));
      await test.db.transaction((trx) => recordAudit(trx, 2, { type: 'system', name: 'cli:root' }, [{ action: 'revoke', subjectType: 'invitation', subjectId: 'invite_2', details: { email: 'z@y.io' } }]));
      expect((await test.db('audit_log').orderBy('id').select('*')).map(auditLine)).toEqual(['*Ada Admin* (U0ADMIN) revoked the invitation to x@y.io', 'operator (cli:root) revoked the invitation to z@y.io']);
    } finally {
      await test.destroy();
    }
  });

  it('clips what was typed before escaping it: a long reason neither bloats the line nor is cut inside an escape', () => {
    const reason = '<'.repeat(1_000);
    const deny = { id: 3, at: 0, actor_type: 'slack' as const, actor_id: 'U0ADMIN', action: 'deny', subject_type: 'invitation', subject_id: 'invite_1', details: JSON.stringify({ email: 'x@y.io', reason }) };
    const typed = auditLine(deny).slice('<@U0ADMIN> denied the invitation to '.length);
    // 300 characters as typed, the last an ellipsis; each '<' escaped whole.
    expect(typed).toMatch(/^x@y\.io \((&lt;)+…$/);
    expect(typed.replaceAll('&lt;', '<')).toHaveLength(300);
  });
});
