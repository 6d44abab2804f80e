import { describe, expect, it } from 'vitest';
import { pruneSettled, SETTLED_KEPT_MS } from '../../src/outbox/retention.js';
import { DIALECTS, useTestDatabase } from '../support/db.js';

const NOW = Date.UTC(2026, 11, 7);
const OLD = NOW - SETTLED_KEPT_MS - 1;

describe.each(DIALECTS)('outbox retention (%s)', (dialect) => {
  const test = useTestDatabase(dialect);

  const item = (kind: string, state: string, doneAt: number | null) => ({ kind, state, payload: '{}', attempts: 1, next_attempt_at: OLD, created_at: OLD, done_at: doneAt });

  it('deletes settled items of the given kinds once kept long enough, in batches; waiting, recent and other kinds stay', async () => {
    const t = test();
    await t.db('outbox').insert([
      item('invite_email', 'done', OLD),
      item('invite_email', 'cancelled', OLD),
      item('webhook', 'done', OLD),
      item('invite_email', 'done', NOW - SETTLED_KEPT_MS + 1_000),
      item('invite_email', 'pending', null),
      item('slack_notice', 'done', OLD),
      ...Array.from({ length: 5 }, () => item('webhook', 'cancelled', OLD)),
    ]);
    // A stop before it starts (or between batches) ends it.
    expect(await pruneSettled(t.db, NOW, ['invite_email', 'webhook'], { stopping: AbortSignal.abort() })).toBe(0);
    expect(await pruneSettled(t.db, NOW, ['invite_email', 'webhook'], { batch: 2 })).toBe(8);
    const left = (await t.db('outbox').orderBy('id').select('kind', 'state')) as Array<{ kind: string; state: string }>;
    expect(left).toEqual([
      { kind: 'invite_email', state: 'done' },
      { kind: 'invite_email', state: 'pending' },
      { kind: 'slack_notice', state: 'done' },
    ]);
    expect(await pruneSettled(t.db, NOW, ['invite_email', 'webhook'])).toBe(0);
  });
});
