import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Webhook endpoints' secrets: their Standard Webhooks form, and how added endpoints' are stored:
 * sealed with a key derived from APP_SECRET (AES-256-GCM), so a database dump alone cannot sign
 * webhooks that receivers would believe.
 */
const PREFIX = 'sealed.v1.';

function keyFor(appSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', appSecret, 'doorman', 'webhook endpoint secrets', 32));
}

export function sealSecret(appSecret: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(appSecret), iv);
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/** The secret, or undefined when it was sealed under another APP_SECRET (or is damaged). */
export function openSecret(appSecret: string, stored: string): string | undefined {
  if (!stored.startsWith(PREFIX)) return undefined;
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
  if (raw.length < 29) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(appSecret), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Standard Webhooks secrets: `whsec_` and the base64 of the HMAC key (at least 24 bytes). */
export const WEBHOOK_SECRET_MIN_BYTES = 24;

/** Why a Standard Webhooks secret is unusable, or undefined when it is fine. */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return 'must start with whsec_ followed by base64 (e.g. whsec_ and `openssl rand -base64 32`)';
  const encoded = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return 'the part after whsec_ is not valid base64';
  if (Buffer.from(encoded, 'base64').length < WEBHOOK_SECRET_MIN_BYTES) return `the key after whsec_ must be at least ${WEBHOOK_SECRET_MIN_BYTES} bytes (e.g. whsec_ and \`openssl rand -base64 32\`)`;
  return undefined;
}

/** The secrets a WEBHOOK_SECRET holds: several, separated by white space, while one is rotated. */
export function webhookSecrets(value: string): string[] {
  return value.trim().split(/\s+/);
}

/** A new Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
