import * as ScryptNamespace from 'scrypt-kdf';
import { WeakPassword } from '../shared/errors.js';

// scrypt-kdf's runtime exports one default object while its typings declare named functions.
const Scrypt = (ScryptNamespace as unknown as { default: typeof ScryptNamespace }).default;

/** scrypt-kdf parameters: logN 15 (Medusa v1 used logN 1, which offers no protection). */
export const SCRYPT_PARAMS = { logN: 15, r: 8, p: 1 } as const;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

export function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN) {
    throw new WeakPassword(`The password must be at least ${PASSWORD_MIN} characters long.`);
  }
  if (password.length > PASSWORD_MAX) throw new WeakPassword(`The password must be at most ${PASSWORD_MAX} characters long.`);
  return password;
}

export async function hashPassword(password: string): Promise<string> {
  const key = await Scrypt.kdf(checkPassword(password), SCRYPT_PARAMS);
  return Buffer.from(key).toString('base64');
}

export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (!hash || password.length > PASSWORD_MAX) {
    // Spend comparable time either way so a missing account is not told apart by timing.
    await Scrypt.kdf('timing-equalizer', SCRYPT_PARAMS);
    return false;
  }
  try {
    return await Scrypt.verify(Buffer.from(hash, 'base64'), password);
  } catch {
    return false;
  }
}
