import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets of added webhook endpoints are stored sealed with a key derived from APP_SECRET
 * (AES-256-GCM), so a database dump alone cannot sign webhooks that receivers would believe.
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
