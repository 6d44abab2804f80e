import type { Db } from './db/index.js';
import { ConfigError } from './shared/errors.js';

/**
 * What the service makes links and sends mail with, recorded at each start (`app_settings`), so a
 * CLI run that would make them differently refuses: a `deliver` without the service's SMTP_URL would
 * write the queued emails to files and mark them sent, and a `link` or `deliver` with another
 * PUBLIC_URL would point invitees elsewhere. Nothing to check before the service first started.
 */
export interface ServedWith {
  publicUrl: string;
  mail: 'smtp' | 'file';
}

const KEYS: Record<keyof ServedWith, string> = { publicUrl: 'served_public_url', mail: 'served_mail_transport' };

/** Records this start's settings; answers the mail transport recorded before, when there was one. */
export async function recordServedWith(db: Db, served: ServedWith, now: number): Promise<{ mailBefore?: string }> {
  const before = (await db('app_settings').where({ key: KEYS.mail }).first('value')) as { value: string } | undefined;
  const rows = (Object.keys(KEYS) as Array<keyof ServedWith>).map((name) => ({ key: KEYS[name], value: served[name], updated_at: now }));
  await db('app_settings').insert(rows).onConflict('key').merge(['value', 'updated_at']);
  return before ? { mailBefore: before.value } : {};
}

/** Refuses, naming the variable, when this run's settings differ from the service's where it matters to the command. */
export async function requireServedWith(db: Db, here: Partial<ServedWith>): Promise<void> {
  const rows = (await db('app_settings').whereIn('key', Object.values(KEYS)).select('key', 'value')) as Array<{ key: string; value: string }>;
  const served = new Map(rows.map((row) => [row.key, row.value]));
  const publicUrl = served.get(KEYS.publicUrl);
  if (here.publicUrl !== undefined && publicUrl !== undefined && sameUrl(publicUrl, here.publicUrl) === false) {
    throw new ConfigError('PUBLIC_URL', `is ${here.publicUrl} here but ${publicUrl} for the service, so links made here would point elsewhere; run the CLI with the service's environment`);
  }
  if (here.mail === 'file' && served.get(KEYS.mail) === 'smtp') {
    throw new ConfigError('SMTP_URL', "is not set here, but the service sends mail through SMTP: emails delivered here would be written to files in DATA_DIR/outbox and marked sent; run the CLI with the service's environment");
  }
}

/** The same address however it was written (a host in capitals, a default port). */
function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}
