import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvitesService } from '../../src/invites/service.js';
import { deriveToken, issueToken, TOKEN_PATTERN, tokenHash, tokenMatches } from '../../src/invites/tokens.js';
import { InvitationExpired, LinkReplaced, UnknownToken } from '../../src/shared/errors.js';
import { DIALECTS, TEST_SECRET, watchStatements } from '../support/db.js';
import { CLI, currentToken, DAY, inviteOne, invitationRow, PUBLIC_URL, SETTINGS, SLACK_ADMIN, tokenFromLink, TTL, useWorld } from './fixtures.js';

describe('tokens, pure', () => {
  it('are 256 bits, URL-safe base64 without padding', () => {
    const { token, nonce } = issueToken(TEST_SECRET);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(Buffer.from(nonce, 'base64url')).toHaveLength(32);
    expect(encodeURIComponent(token)).toBe(token);
    expect(TOKEN_PATTERN.test(token)).toBe(true);
  });

  it('are fresh every time (CSPRNG nonce)', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => issueToken(TEST_SECRET).token));
    expect(tokens.size).toBe(1000);
  });

  it('are HMAC(APP_SECRET, nonce): the same nonce gives another token under another secret', () => {
    const { token, nonce, hash } = issueToken(TEST_SECRET);
    expect(deriveToken(TEST_SECRET, nonce)).toBe(token);
    expect(deriveToken('another-secret-0123456789-abcdefghijklmnop', nonce)).not.toBe(token);
    expect(hash).toBe(tokenHash(token));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(token);
    expect(nonce).not.toBe(token);
  });

  it('are HMAC-SHA256 keyed by the secret as UTF-8 text, whatever secrets were used before', () => {
    const secrets = [TEST_SECRET, 'ünïcödé-secret-🔑-0123456789-abcdefghijkl', ...Array.from({ length: 12 }, (_, i) => `secret-${i}-0123456789-abcdefghijklmnop`), TEST_SECRET];
    for (const secret of secrets) {
      const nonce = issueToken(secret).nonce;
      expect(deriveToken(secret, nonce)).toBe(createHmac('sha256', secret).update(`doorman/invite/v1:${nonce}`).digest('base64url'));
    }
  });

  it('nonces stay 32 fresh bytes each across many draws (the CSPRNG is read in blocks)', () => {
    const nonces = Array.from({ length: 1_000 }, () => issueToken(TEST_SECRET).nonce);
    expect(new Set(nonces).size).toBe(1_000);
    for (const nonce of nonces) expect(Buffer.from(nonce, 'base64url')).toHaveLength(32);
    // No byte block is handed out twice: no two nonces share their first 8 bytes either.
    expect(new Set(nonces.map((n) => n.slice(0, 11))).size).toBe(1_000);
  });

  it('tokenMatches accepts only the exact token', () => {
    const { token, nonce } = issueToken(TEST_SECRET);
    expect(tokenMatches(TEST_SECRET, nonce, token)).toBe(true);
    const flipped = token.slice(0, 42) + (token[42] === 'A' ? 'B' : 'A');
    expect(tokenMatches(TEST_SECRET, nonce, flipped)).toBe(false);
    expect(tokenMatches(TEST_SECRET, nonce, token.slice(0, 42))).toBe(false);
    expect(tokenMatches(TEST_SECRET, nonce, token + 'A')).toBe(false);
    expect(tokenMatches('another-secret-0123456789-abcdefghijklmnop', nonce, token)).toBe(false);
  });
});

describe.each(DIALECTS)('tokens in the database (%s)', (dialect) => {
  const world = useWorld(dialect);

  it('the invitation row never holds the token, only its hash and a nonce', async () => {
    const w = world();
    const { id, token } = await inviteOne(w, 'jane@x.io');
    const row = await invitationRow(w.db, id);
    expect(row.token_hash).toBe(tokenHash(token));
    for (const table of ['invitations', 'outbox', 'audit_log', 'members']) {
      const dump = JSON.stringify(await w.db(table).select('*'));
      expect(dump, table).not.toContain(token);
    }
  });

  it('a database dump alone does not yield a working link', async () => {
    const w = world();
    const { id, token } = await inviteOne(w, 'jane@x.io');
    const row = await invitationRow(w.db, id);
    // Everything an attacker with the dump could try as a token:
    const guesses = [
      row.token_nonce,
      row.token_hash,
      row.token_hash.slice(0, 43),
      Buffer.from(row.token_hash, 'hex').toString('base64url'),
      deriveToken('', row.token_nonce),
      deriveToken('wrong-secret-0123456789-abcdefghijklmnopqrst', row.token_nonce),
      createHmac('sha256', row.token_nonce).update(row.id).digest('base64url'),
      row.id,
    ];
    for (const guess of guesses) {
      await expect(w.invites.lookupToken(guess), guess).rejects.toBeInstanceOf(UnknownToken);
    }
    // Another deployment holding the same rows but another secret cannot use the real link either.
    const otherSecret = new InvitesService(w.db, w.clock, { ...SETTINGS, appSecret: 'wrong-secret-0123456789-abcdefghijklmnopqrst' });
    await expect(otherSecret.lookupToken(token)).rejects.toBeInstanceOf(UnknownToken);
    // The real token, derived with APP_SECRET, works.
    expect((await w.invites.lookupToken(token)).id).toBe(id);
  });

  it('a token sharing 42 of 43 characters with the real one is unknown', async () => {
    const w = world();
    const { token } = await inviteOne(w, 'jane@x.io');
    for (const position of [0, 21, 42]) {
      const ch = token[position] === 'A' ? 'B' : 'A';
      const near = token.slice(0, position) + ch + token.slice(position + 1);
      await expect(w.invites.lookupToken(near)).rejects.toBeInstanceOf(UnknownToken);
    }
    await expect(w.invites.lookupToken(token.slice(0, 42))).rejects.toBeInstanceOf(UnknownToken);
    await expect(w.invites.lookupToken(token + '=')).rejects.toBeInstanceOf(UnknownToken);
    await expect(w.invites.lookupToken(` ${token}`)).rejects.toBeInstanceOf(UnknownToken);
    for (const junk of [undefined, null, 42, {}, [token], '', "' OR 1=1 --"]) {
      await expect(w.invites.lookupToken(junk)).rejects.toBeInstanceOf(UnknownToken);
    }
  });

  it('looks tokens up by their hash: the token itself never reaches a query', async () => {
    const w = world();
    const { token } = await inviteOne(w, 'jane@x.io');
    const watch = watchStatements(w.db);
    try {
      await w.invites.lookupToken(token);
      await w.invites.accept({ token, firstName: 'Jane', lastName: 'Doe', password: 'long enough password' });
    } finally {
      watch.stop();
    }
    const bindings = watch.queries.flatMap((query) => [...query.bindings, query.sql]);
    expect(bindings).toContain(tokenHash(token));
    expect(JSON.stringify(bindings)).not.toContain(token);
  });

  it('the link is PUBLIC_URL/invite?token=…, with the token from APP_SECRET', async () => {
    const w = world();
    const { id, token } = await inviteOne(w, 'jane@x.io');
    const { link } = await w.invites.copyLink(id);
    expect(link).toBe(`${PUBLIC_URL}/invite?token=${token}`);
    expect(tokenFromLink(link)).toBe(token);
  });

  it('resend keeps the link: the same token works and copyLink shows the same URL', async () => {
    const w = world();
    const { id, token } = await inviteOne(w, 'jane@x.io');
    const before = (await w.invites.copyLink(id)).link;
    const rowBefore = await invitationRow(w.db, id);
    w.clock.advance(DAY);
    await w.invites.resend(id, SLACK_ADMIN);
    const rowAfter = await invitationRow(w.db, id);
    expect(rowAfter.token_hash).toBe(rowBefore.token_hash);
    expect(rowAfter.token_nonce).toBe(rowBefore.token_nonce);
    expect((await w.invites.copyLink(id)).link).toBe(before);
    expect((await w.invites.lookupToken(token)).id).toBe(id);
  });

  it('renew kills the old link; only the newest token works', async () => {
    const w = world();
    const { id, token: first } = await inviteOne(w, 'jane@x.io');
    w.clock.advance(TTL + 1);
    await expect(w.invites.lookupToken(first)).rejects.toBeInstanceOf(InvitationExpired);
    await w.invites.renew(id, CLI);
    const second = await currentToken(w.db, id);
    expect(second).not.toBe(first);
    // The old link is told it was replaced (not "not valid"): the newer email holds the one that works.
    await expect(w.invites.lookupToken(first)).rejects.toBeInstanceOf(LinkReplaced);
    await expect(w.invites.accept({ token: first, firstName: 'J', lastName: 'D', password: 'long enough password' })).rejects.toBeInstanceOf(LinkReplaced);
    expect((await w.invites.lookupToken(second)).id).toBe(id);
    expect(tokenFromLink((await w.invites.copyLink(id)).link)).toBe(second);

    // And again: the second link dies with the third.
    w.clock.advance(TTL + 1);
    await w.invites.renew(id, CLI);
    const third = await currentToken(w.db, id);
    for (const dead of [first, second]) await expect(w.invites.lookupToken(dead)).rejects.toBeInstanceOf(LinkReplaced);
    expect((await w.invites.lookupToken(third)).id).toBe(id);
    // A token that never was stays "not valid".
    await expect(w.invites.lookupToken('A'.repeat(43))).rejects.toBeInstanceOf(UnknownToken);
  });

  it('renewing an expired invitation through inviteMany also kills the old link', async () => {
    const w = world();
    const { id, token: first } = await inviteOne(w, 'jane@x.io');
    w.clock.advance(TTL);
    const summary = await w.invites.inviteMany({ emails: 'jane@x.io', actor: SLACK_ADMIN });
    expect(summary.renewed).toEqual(['jane@x.io']);
    await expect(w.invites.lookupToken(first)).rejects.toBeInstanceOf(LinkReplaced);
    expect((await w.invites.lookupToken(await currentToken(w.db, id))).id).toBe(id);
  });
});
