import { describe, expect, it } from 'vitest';
import { standingOf, type OpenInvitation, type StoredAddresses } from '../../src/invites/standing.js';

const NOW = 1_000_000;
const open = (email: string, status: 'pending' | 'awaiting', expiresAt: number): OpenInvitation => ({ id: `invite_${email}`, email, status, expires_at: expiresAt, send_count: 1, token_hash: `hash_${email}` });

describe('standingOf (the rule "Skips")', () => {
  const stored: StoredAddresses = {
    members: new Set(['member@x.io', 'both@x.io']),
    open: new Map(
      [open('both@x.io', 'pending', NOW + 1), open('live@x.io', 'pending', NOW + 1), open('expired@x.io', 'pending', NOW), open('held@x.io', 'awaiting', NOW - 1)].map((row) => [row.email, row]),
    ),
  };

  it('an active member is skipped, even with an open invitation', () => {
    expect(standingOf('member@x.io', stored, NOW)).toEqual({ kind: 'member' });
    expect(standingOf('both@x.io', stored, NOW)).toEqual({ kind: 'member' });
  });

  it('no open invitation: a new one', () => {
    expect(standingOf('nobody@x.io', stored, NOW)).toEqual({ kind: 'new' });
  });

  it('a pending invitation is live until its expiry and expired from it on', () => {
    expect(standingOf('live@x.io', stored, NOW)).toMatchObject({ kind: 'invited', invitation: { id: 'invite_live@x.io' } });
    expect(standingOf('expired@x.io', stored, NOW)).toMatchObject({ kind: 'expired', invitation: { id: 'invite_expired@x.io' } });
  });

  it('one awaiting approval is held, neither invited nor renewed, until the sweep lapses it', () => {
    expect(standingOf('held@x.io', stored, NOW)).toMatchObject({ kind: 'held' });
  });
});
