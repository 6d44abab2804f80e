import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Invitation links. Each token generation draws a fresh 256-bit nonce from the CSPRNG; the link
 * token is HMAC-SHA256(APP_SECRET, nonce), 256 bits in URL-safe base64. The database keeps the
 * nonce and the token's SHA-256 (for lookup) — neither yields a working link without the secret.
 * A new nonce replaces the hash, so only the newest token of an invitation works.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function deriveToken(secret: string, nonce: string): string {
  return createHmac('sha256', secret).update(`doorman/invite/v1:${nonce}`).digest('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A fresh token and what the database keeps of it. */
export function issueToken(secret: string): { token: string; nonce: string; hash: string } {
  const nonce = randomBytes(32).toString('base64url');
  const token = deriveToken(secret, nonce);
  return { token, nonce, hash: tokenHash(token) };
}

/**
 * True when `token` is the one derived from `nonce`. The lookup went by the token's hash (whose
 * prefix says nothing about the token's), and this check compares in constant time.
 */
export function tokenMatches(secret: string, nonce: string, token: string): boolean {
  const expected = Buffer.from(deriveToken(secret, nonce));
  const given = Buffer.from(token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Tokens and accept links for this instance's APP_SECRET and PUBLIC_URL. */
export class InviteLinks {
  constructor(private readonly secret: string, private readonly publicUrl: string) {}

  issue(): { token: string; nonce: string; hash: string } {
    return issueToken(this.secret);
  }

  tokenFor(nonce: string): string {
    return deriveToken(this.secret, nonce);
  }

  matches(nonce: string, token: string): boolean {
    return tokenMatches(this.secret, nonce, token);
  }

  /** The accept link for an invitation's current token. */
  linkFor(row: { token_nonce: string }): string {
    return `${this.publicUrl}/invite?token=${this.tokenFor(row.token_nonce)}`;
  }
}

/** Random secrets handed out once (API tokens); stored only as their hash. */
export function newApiToken(): string {
  return `dm_${randomBytes(32).toString('base64url')}`;
}
