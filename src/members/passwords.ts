import * as ScryptNamespace from 'scrypt-kdf';
import { Overloaded, WeakPassword } from '../shared/errors.js';

/** scrypt-kdf itself: its runtime exports one default object while its typings declare named functions. */
export const Scrypt = (ScryptNamespace as unknown as { default: typeof ScryptNamespace }).default;

/** scrypt-kdf parameters: logN 15 (Medusa v1 used logN 1, which offers no protection). */
export const SCRYPT_PARAMS = { logN: 15, r: 8, p: 1 } as const;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

/**
 * What is wrong with a password's length, if anything, counted as people count it: characters
 * (code points), not UTF-16 units, so an emoji is one. Each door says it in its own words.
 */
export function passwordProblem(password: string): 'too_short' | 'too_long' | undefined {
  let length = 0;
  for (const _ of password) length++;
  return length < PASSWORD_MIN ? 'too_short' : length > PASSWORD_MAX ? 'too_long' : undefined;
}

/**
 * A password as it is hashed: exactly as typed, since the organization's product checks the same
 * hashes against what its users type (see verifyPassword for Doorman's own sign-in).
 */
export function checkPassword(password: unknown): string {
  const problem = typeof password === 'string' ? passwordProblem(password) : 'too_short';
  if (problem === 'too_short') throw new WeakPassword(`The password must be at least ${PASSWORD_MIN} characters long.`);
  if (problem === 'too_long') throw new WeakPassword(`The password must be at most ${PASSWORD_MAX} characters long.`);
  return password as string;
}

/**
 * The forms a typed password is tried in: as typed, then NFC and NFD ("é" as one character, or "e" and an
 * accent as macOS and some keyboards give it), so it is the same password on every device.
 */
function passwordForms(password: string): string[] {
  return [...new Set([password, password.normalize('NFC'), password.normalize('NFD')])];
}

/**
 * scrypt shares libuv's thread pool with sqlite3 and file reads, so at most pool size − 1 hashes run at once
 * (UV_THREADPOOL_SIZE raises both) lest `/healthz` and queries stall; past a short queue a hash is refused at
 * once (Overloaded: 503 with Retry-After) rather than queue without bound.
 */
const HASH_SLOTS = Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1);
/**
 * Passwords being set (an accept, a new member) have their own, longer queue, served first, so a flood of
 * sign-ins (anyone can send them) is refused at its own limit and never keeps an invitee from joining.
 */
export const MAX_WAITING_HASHES = HASH_SLOTS * 8;
export const MAX_WAITING_SIGN_INS = HASH_SLOTS * 4;
let hashing = 0;
const waiting = { setting: [] as Array<() => void>, signIn: [] as Array<() => void> };

/** How many hashes run right now, how many wait, and the most that may run (for tests and metrics). */
export function hashingLoad(): { running: number; waiting: number; waitingSignIns: number; slots: number } {
  return { running: hashing, waiting: waiting.setting.length + waiting.signIn.length, waitingSignIns: waiting.signIn.length, slots: HASH_SLOTS };
}

async function withHashSlot<T>(queue: keyof typeof waiting, work: () => Promise<T>): Promise<T> {
  if (hashing >= HASH_SLOTS) {
    if (waiting[queue].length >= (queue === 'signIn' ? MAX_WAITING_SIGN_INS : MAX_WAITING_HASHES)) throw new Overloaded(1);
    await new Promise<void>((resolve) => waiting[queue].push(resolve));
  } else hashing++;
  try {
    return await work();
  } finally {
    const next = waiting.setting.shift() ?? waiting.signIn.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else hashing--;
  }
}

export async function hashPassword(password: string): Promise<string> {
  const checked = checkPassword(password);
  const key = await withHashSlot('setting', () => Scrypt.kdf(checked, SCRYPT_PARAMS));
  return Buffer.from(key).toString('base64');
}

export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  const forms = passwordForms(password);
  if (!hash || passwordProblem(password) === 'too_long') {
    // As many hashes as a wrong password of an existing account takes, so a missing account is
    // not told apart by timing.
    await withHashSlot('signIn', async () => {
      for (const form of forms) await Scrypt.kdf(form, SCRYPT_PARAMS);
    });
    return false;
  }
  const stored = Buffer.from(hash, 'base64');
  return withHashSlot('signIn', async () => {
    try {
      for (const form of forms) if (await Scrypt.verify(stored, form)) return true;
      return false;
    } catch {
      // A stored hash scrypt-kdf cannot read matches no password.
      return false;
    }
  });
}
