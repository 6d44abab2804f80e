import { describe, expect, it } from 'vitest';
import type { Invitation, ShownStatus } from '../../src/invites/model.js';
import type { ListQuery, SortKey } from '../../src/invites/service.js';
import { InvalidInput } from '../../src/shared/errors.js';
import { DIALECTS } from '../support/db.js';
import { CLI, currentToken, DAY, PASSWORD, SLACK_ADMIN, TTL, useWorld, type World } from './fixtures.js';

const STATUS_RANK: Record<ShownStatus, number> = { awaiting_approval: 0, pending: 1, expired: 2, accepted: 3, revoked: 4 };

/**
 * 40 invitations (8 + 12 + 14 + 6): batches invited at different times (so created_at both ties and differs),
 * some resent (expires_at differs from created_at + TTL), some accepted, revoked and expired.
 * Returns the expected shown status of each email.
 */
async function seed(w: World): Promise<Map<string, ShownStatus>> {
  const expected = new Map<string, ShownStatus>();
  const batch = async (emails: string[]) => {
    const summary = await w.invites.inviteMany({ emails, actor: SLACK_ADMIN });
    expect(summary.sent).toHaveLength(emails.length);
    return summary.invitationIds;
  };
  // Old batch: will expire.
  await batch(Array.from({ length: 8 }, (_, i) => `old${i}@past.io`));
  w.clock.advance(3 * DAY);
  const mid = await batch(Array.from({ length: 12 }, (_, i) => `mid${String(i).padStart(2, '0')}@x.io`));
  for (let i = 0; i < 14; i++) {
    w.clock.advance(60_000);
    await batch([`solo${i}@y.io`]);
  }
  // Accept two, revoke three, resend two of the mid batch.
  for (const id of mid.slice(0, 2)) await w.invites.accept({ token: await currentToken(w.db, id), firstName: 'Mid', lastName: 'List', password: PASSWORD });
  for (const id of mid.slice(2, 5)) await w.invites.revoke(id, CLI);
  w.clock.advance(2 * DAY);
  for (const id of mid.slice(5, 7)) await w.invites.resend(id, CLI);
  // Strange but valid addresses for the literal search.
  await batch(['a_b@lit.io', 'axb@lit.io', '100%real@lit.io', '100xreal@lit.io', 'under__score@lit.io', 'underxxscore@lit.io']);
  w.clock.advance(2 * DAY + 1); // the old batch (7 days since) is now expired

  for (const inv of (await w.invites.list({ limit: 500, status: 'all' })).invitations) expected.set(inv.email, inv.status);
  return expected;
}

async function walk(w: World, query: ListQuery): Promise<{ pages: Invitation[][]; totals: number[] }> {
  const pages: Invitation[][] = [];
  const totals: number[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = await w.invites.list({ ...query, cursor });
    pages.push(page.invitations);
    totals.push(page.total);
    if (!page.nextCursor) return { pages, totals };
    cursor = page.nextCursor;
  }
  throw new Error('paging never ended');
}

function sortKey(inv: Invitation, sort: SortKey): string | number {
  switch (sort) {
    case 'email':
      return inv.email;
    case 'created':
      return inv.createdAt;
    case 'expires':
      return inv.expiresAt;
    case 'status':
      return STATUS_RANK[inv.status];
  }
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

describe.each(DIALECTS)('InvitesService.list (%s)', (dialect) => {
  const world = useWorld(dialect);

  it('filters by shown status, deriving Expired from the clock', async () => {
    const w = world();
    const expected = await seed(w);
    const statuses = [...expected.values()];
    expect(statuses.filter((s) => s === 'expired')).toHaveLength(8);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(2);
    expect(statuses.filter((s) => s === 'revoked')).toHaveLength(3);
    for (const status of ['pending', 'expired', 'accepted', 'revoked'] as const) {
      const page = await w.invites.list({ status, limit: 500 });
      const want = [...expected].filter(([, s]) => s === status).map(([e]) => e).sort();
      expect(page.invitations.map((i) => i.email).sort(), status).toEqual(want);
      expect(page.total).toBe(want.length);
      for (const inv of page.invitations) expect(inv.status).toBe(status);
    }
    expect((await w.invites.list({ status: 'all', limit: 500 })).total).toBe(expected.size);
    expect((await w.invites.list({ limit: 500 })).total).toBe(expected.size);
    // `open`: what an admin can still act on, pending and expired together.
    const open = (await w.invites.list({ status: 'open', limit: 500 })).invitations;
    expect(open.map((i) => i.email).sort()).toEqual([...expected].filter(([, s]) => s === 'pending' || s === 'expired').map(([e]) => e).sort());

    // Moving the clock moves invitations from Pending to Expired, with no write.
    const pendingBefore = (await w.invites.list({ status: 'pending' })).total;
    w.clock.advance(TTL);
    expect((await w.invites.list({ status: 'pending' })).total).toBe(0);
    expect((await w.invites.list({ status: 'expired' })).total).toBe(8 + pendingBefore);
  });

  it('counts invitations per shown status', async () => {
    const w = world();
    const expected = await seed(w);
    const counts = await w.invites.counts();
    const tally = { pending: 0, expired: 0, accepted: 0, revoked: 0, awaiting_approval: 0, all: expected.size };
    for (const s of expected.values()) tally[s]++;
    expect(counts).toEqual(tally);
    expect(counts).toMatchObject({ expired: 8, accepted: 2, revoked: 3, all: 40 });
    w.clock.advance(TTL);
    expect(await w.invites.counts()).toEqual({ pending: 0, expired: tally.pending + tally.expired, accepted: 2, revoked: 3, awaiting_approval: 0, all: 40 });
  });

  it('counts zero on an empty database', async () => {
    const w = world();
    expect(await w.invites.counts()).toEqual({ pending: 0, expired: 0, accepted: 0, revoked: 0, awaiting_approval: 0, all: 0 });
    expect(await w.invites.list()).toMatchObject({ invitations: [], total: 0, nextCursor: null });
  });

  it.each([
    ['email', 'asc'],
    ['email', 'desc'],
    ['created', 'asc'],
    ['created', 'desc'],
    ['expires', 'asc'],
    ['expires', 'desc'],
    ['status', 'asc'],
    ['status', 'desc'],
  ] as const)('sorts by %s %s, and cursor paging walks every row exactly once', async (sort, order) => {
    const w = world();
    const expected = await seed(w);
    const all = (await w.invites.list({ sort, order, limit: 500 })).invitations;
    expect(all).toHaveLength(expected.size);
    const sign = order === 'asc' ? 1 : -1;
    for (let i = 1; i < all.length; i++) {
      const c = compare(sortKey(all[i - 1]!, sort), sortKey(all[i]!, sort)) * sign;
      expect(c, `${all[i - 1]!.email} before ${all[i]!.email}`).toBeLessThanOrEqual(0);
    }
    for (const limit of [1, 7, 10, 39, 40]) {
      const { pages, totals } = await walk(w, { sort, order, limit });
      const walked = pages.flat().map((i) => i.id);
      expect(walked, `limit ${limit}`).toEqual(all.map((i) => i.id));
      expect(new Set(walked).size).toBe(walked.length);
      expect(pages).toHaveLength(Math.ceil(expected.size / limit));
      for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
      for (const total of totals) expect(total).toBe(expected.size);
    }
  });

  it('pages with a cursor inside a status filter and a search', async () => {
    const w = world();
    await seed(w);
    const all = (await w.invites.list({ status: 'pending', search: 'x.io', sort: 'email', limit: 500 })).invitations;
    expect(all.length).toBeGreaterThan(3);
    const { pages } = await walk(w, { status: 'pending', search: 'x.io', sort: 'email', limit: 3 });
    expect(pages.flat().map((i) => i.id)).toEqual(all.map((i) => i.id));
  });

  it('pages by offset', async () => {
    const w = world();
    await seed(w);
    const all = (await w.invites.list({ sort: 'email', limit: 500 })).invitations;
    const page = await w.invites.list({ sort: 'email', limit: 10, offset: 10 });
    expect(page.offset).toBe(10);
    expect(page.limit).toBe(10);
    expect(page.total).toBe(40);
    expect(page.invitations.map((i) => i.id)).toEqual(all.slice(10, 20).map((i) => i.id));
    const last = await w.invites.list({ sort: 'email', limit: 10, offset: 35 });
    expect(last.invitations.map((i) => i.id)).toEqual(all.slice(35).map((i) => i.id));
    expect(last.nextCursor).toBeNull();
    expect((await w.invites.list({ sort: 'email', limit: 10, offset: 100 })).invitations).toEqual([]);
    // Status sort pages by offset too.
    const byStatus = (await w.invites.list({ sort: 'status', limit: 500 })).invitations;
    expect((await w.invites.list({ sort: 'status', limit: 5, offset: 5 })).invitations.map((i) => i.id)).toEqual(byStatus.slice(5, 10).map((i) => i.id));
  });

  it('sorted by status within one status, lists newest first either way, as the status sort breaks ties', async () => {
    const w = world();
    await seed(w);
    for (const status of ['pending', 'expired', 'accepted', 'revoked'] as const) {
      const newest = (await w.invites.list({ status, sort: 'created', order: 'desc', limit: 500 })).invitations.map((i) => i.id);
      expect(newest.length, status).toBeGreaterThan(1);
      for (const order of ['asc', 'desc'] as const) expect((await w.invites.list({ status, sort: 'status', order, limit: 500 })).invitations.map((i) => i.id), `${status} ${order}`).toEqual(newest);
      expect((await w.invites.list({ status, sort: 'status', limit: 3, offset: 1 })).invitations.map((i) => i.id)).toEqual(newest.slice(1, 4));
    }
  });

  it('clamps the page size', async () => {
    const w = world();
    await seed(w);
    expect((await w.invites.list({ limit: 0 })).invitations).toHaveLength(1);
    expect((await w.invites.list({ limit: 100_000 })).limit).toBe(500);
  });

  it('searches by a fragment of the email, case-insensitively', async () => {
    const w = world();
    await seed(w);
    const emails = async (search: string) => (await w.invites.list({ search, sort: 'email', limit: 500 })).invitations.map((i) => i.email);
    expect(await emails('SOLO3')).toEqual(['solo3@y.io']);
    expect(await emails('@past.')).toHaveLength(8);
    expect(await emails('  mid0')).toHaveLength(10);
    expect(await emails('nothing-like-this')).toEqual([]);
    expect(await emails('')).toHaveLength(40);
  });

  it('finds an address on an international domain typed in its own letters, as it is stored (ASCII form)', async () => {
    const w = world();
    await w.invites.inviteMany({ emails: 'ana@bücher.de, bob@other.de', actor: { type: 'system' } });
    const emails = async (search: string) => (await w.invites.list({ search, sort: 'email', limit: 500 })).invitations.map((i) => i.email);
    expect(await emails('bücher')).toEqual(['ana@xn--bcher-kva.de']);
    expect(await emails('ana@bücher.de')).toEqual(['ana@xn--bcher-kva.de']);
    expect(await emails('xn--bcher')).toEqual(['ana@xn--bcher-kva.de']);
    expect(await emails('.de')).toHaveLength(2);
    // Counted the same way: the total matches the rows.
    expect((await w.invites.listWithCounts({ search: 'BÜCHER', status: 'all', limit: 10 })).total).toBe(1);
  });

  it('treats % and _ in the search literally', async () => {
    const w = world();
    await seed(w);
    const emails = async (search: string) => (await w.invites.list({ search, sort: 'email', limit: 500 })).invitations.map((i) => i.email);
    expect(await emails('a_b')).toEqual(['a_b@lit.io']);
    expect(await emails('_')).toEqual(['a_b@lit.io', 'under__score@lit.io']);
    expect(await emails('__')).toEqual(['under__score@lit.io']);
    expect(await emails('100%')).toEqual(['100%real@lit.io']);
    expect(await emails('%')).toEqual(['100%real@lit.io']);
    expect(await emails('0%r')).toEqual(['100%real@lit.io']);
    expect(await emails('\\')).toEqual([]);
  });

  it('refuses an unknown status or a broken cursor with InvalidInput', async () => {
    const w = world();
    await seed(w);
    await expect(w.invites.list({ status: 'lost' as never })).rejects.toBeInstanceOf(InvalidInput);
    await expect(w.invites.counts()).resolves.toBeDefined();
    for (const cursor of ['not a cursor', '!!!', Buffer.from('{"value":{},"id":"x","position":0}').toString('base64url'), Buffer.from('null').toString('base64url'), Buffer.from('{"offset":-5}').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      await expect(w.invites.list({ sort: 'email', cursor }), cursor).rejects.toBeInstanceOf(InvalidInput);
    }
    await expect(w.invites.list({ search: 'x'.repeat(321) })).rejects.toBeInstanceOf(InvalidInput);
  });

  it('refuses a cursor made for another sort instead of failing in the database', async () => {
    const w = world();
    await seed(w);
    const byEmail = await w.invites.list({ sort: 'email', limit: 5 });
    const byCreated = await w.invites.list({ sort: 'created', limit: 5 });
    await expect(w.invites.list({ sort: 'created', cursor: byEmail.nextCursor! })).rejects.toBeInstanceOf(InvalidInput);
    await expect(w.invites.list({ sort: 'expires', cursor: byEmail.nextCursor! })).rejects.toBeInstanceOf(InvalidInput);
    await expect(w.invites.list({ sort: 'email', cursor: byCreated.nextCursor! })).rejects.toBeInstanceOf(InvalidInput);
    await expect(w.invites.list({ sort: 'email', order: 'desc', cursor: byEmail.nextCursor! })).rejects.toBeInstanceOf(InvalidInput);
    // The same sort takes it.
    expect((await w.invites.list({ sort: 'email', limit: 5, cursor: byEmail.nextCursor! })).offset).toBe(5);
  });

  it('shows who invited and the delivery state', async () => {
    const w = world();
    const { member } = await w.members.create({ email: 'sam@x.io', role: 'admin' }, CLI);
    await w.invites.inviteMany({ emails: 'jane@x.io', actor: { type: 'slack', slackUserId: 'U999', memberId: member.id, name: 'Sam' } });
    const [inv] = (await w.invites.list()).invitations;
    expect(inv).toMatchObject({ email: 'jane@x.io', invitedBy: { slackUserId: 'U999', memberId: member.id, name: 'Sam' }, delivery: { state: 'queued', error: null } });
  });
});
