import { createHash, createHmac, createSecretKey, randomBytes, randomFillSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { memoized } from '../shared/memo.js';

/**
 * Invitation links. Each token generation draws a fresh 256-bit nonce from the CSPRNG; the link
 * token is HMAC-SHA256(APP_SECRET, nonce), 256 bits in URL-safe base64. The database keeps the
 * nonce and the token's SHA-256 (for lookup) — neither yields a working link without the secret.
 * A new nonce replaces the hash, so only the newest token of an invitation works.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const NONCE_BYTES = 32;
/**
 * One CSPRNG call per nonce was a fifth of a 100,000-address invite's token time; the same CSPRNG
 * bytes are drawn 4 KiB at a time (128 nonces), and each byte is handed out once.
 */
const noncePool = Buffer.alloc(NONCE_BYTES * 128);
let nonceOffset = noncePool.length;

export function newNonce(): string {
  if (nonceOffset === noncePool.length) {
    randomFillSync(noncePool);
    nonceOffset = 0;
  }
  const nonce = noncePool.toString('base64url', nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return nonce;
}

/** The secret as a key object, made once: a string key is imported again on every HMAC (a fifth of its cost). */
const hmacKey = memoized(8, (secret: string): KeyObject => createSecretKey(Buffer.from(secret, 'utf8')));

export function deriveToken(secret: string, nonce: string): string {
  return createHmac('sha256', hmacKey(secret)).update(`doorman/invite/v1:${nonce}`).digest('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A fresh token and what the database keeps of it. */
export function issueToken(secret: string): { token: string; nonce: string; hash: string } {
  const nonce = newNonce();
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

/** Random secrets handed out once (API tokens); stored only as their hash. */
export function newApiToken(): string {
  return `dm_${randomBytes(32).toString('base64url')}`;
}
