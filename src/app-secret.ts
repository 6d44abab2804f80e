import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from './config.js';
import type { Db } from './db/index.js';
import { ConfigError } from './shared/errors.js';

/**
 * APP_SECRET derives invitation links and signs API tokens. Outside production a missing one is
 * generated once into DATA_DIR, so links keep working across restarts.
 */
export function resolveAppSecret(env: Env, dataDir: string, options: { generate?: boolean } = {}): string {
  const given = env.APP_SECRET;
  if (given !== undefined && given !== '') {
    if (given.length < 32) throw new ConfigError('APP_SECRET', 'must be at least 32 characters (e.g. `openssl rand -base64 48`)');
    return given;
  }
  if (env.NODE_ENV?.trim() === 'production') {
    throw new ConfigError('APP_SECRET', 'is required when NODE_ENV=production (e.g. `openssl rand -base64 48`)');
  }
  const file = path.join(dataDir, 'app-secret');
  if (existsSync(file)) return storedSecret(file);
  if (options.generate === false) throw new ConfigError('APP_SECRET', `is not set, and there is no generated one in ${file}; run this with the service's environment (or start the service once)`);
  const secret = randomBytes(48).toString('base64url');
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    // DATA_DIR holds the secret, the database and emails with live links: only this user's.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Written whole under another name, then linked into place: another process starting at the
    // same moment (the CLI, a second instance) finds either no file or the whole secret.
    writeFileSync(draft, secret + '\n', { mode: 0o600, flag: 'wx' });
    try {
      linkSync(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error;
      // A filesystem without hard links (some network shares): written in place, as before.
      writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    }
  } catch (error) {
    // Another process won the race: use its secret.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return storedSecret(file);
    throw new ConfigError('DATA_DIR', `cannot write ${file}: ${(error as Error).message}`);
  } finally {
    try {
      rmSync(draft, { force: true });
    } catch {
      // Left for the operator: the secret itself is in place, or the error above says why not.
    }
  }
  return secret;
}

function storedSecret(file: string): string {
  let stored: string;
  try {
    stored = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError('DATA_DIR', `cannot read the generated secret in ${file}: ${(error as Error).message}`);
  }
  if (stored.length >= 32) return stored;
  throw new ConfigError('APP_SECRET', `the generated secret in ${file} is damaged; delete it or set APP_SECRET`);
}

const FINGERPRINT_KEY = 'app_secret_fingerprint';

/** Tells one APP_SECRET from another without revealing it (an HMAC of a fixed text, cut short). */
function fingerprint(secret: string): string {
  return createHmac('sha256', secret).update('doorman/app-secret-fingerprint/v1').digest('base64url').slice(0, 22);
}

/**
 * The service records the fingerprint of the secret it runs with, at each start (a rotated secret
 * replaces it). Answers when the one it replaced was recorded, if it replaced another.
 */
export async function recordSecretFingerprint(db: Db, secret: string, now: number): Promise<{ replacedSince?: number }> {
  const before = (await db('app_settings').where({ key: FINGERPRINT_KEY }).first('value', 'updated_at')) as { value: string; updated_at: number | string } | undefined;
  await db('app_settings').insert({ key: FINGERPRINT_KEY, value: fingerprint(secret), updated_at: now }).onConflict('key').merge(['value', 'updated_at']);
  return before && before.value !== fingerprint(secret) ? { replacedSince: Number(before.updated_at) } : {};
}

/**
 * A CLI run refuses to work with another APP_SECRET than the service's: the invitations and links
 * it made would open nothing. Nothing to check before the service first started.
 */
export async function requireServiceSecret(db: Db, secret: string): Promise<void> {
  const row = (await db('app_settings').where({ key: FINGERPRINT_KEY }).first('value')) as { value: string } | undefined;
  if (row && row.value !== fingerprint(secret)) {
    throw new ConfigError('APP_SECRET', "is not the one the service runs with, so links made here would open nothing; run the CLI with the service's environment (its env file, or its DATA_DIR for a generated secret)");
  }
}
