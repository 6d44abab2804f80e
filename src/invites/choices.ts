import { DAY_MS } from '../shared/clock.js';
import { InvalidInput } from '../shared/errors.js';

/** The expiries an inviter may choose, in days. */
export const EXPIRY_CHOICES = [1, 3, 7, 14, 30] as const;
export const MAX_MESSAGE_CHARS = 500;

/** What an inviter may choose per invitation; both optional. */
export interface InviteChoices {
  expiresInDays?: number | null;
  message?: string | null;
}

/** The choices as an invitation's columns: the TTL in ms (null: INVITE_TTL) and the message (null: none). */
export interface StoredChoices {
  ttl_ms: number | null;
  message: string | null;
}

/** The choices as stored, checked. */
export function checkedChoices(choices: InviteChoices): StoredChoices {
  const days = choices.expiresInDays ?? null;
  if (days !== null && !(EXPIRY_CHOICES as readonly number[]).includes(days)) {
    throw new InvalidInput(`An invitation can expire in ${EXPIRY_CHOICES.join(', ')} days, not ${String(days)}.`, 'expires_in_days');
  }
  let message: string | null = null;
  if (choices.message !== undefined && choices.message !== null) {
    if (typeof choices.message !== 'string') throw new InvalidInput('The message must be text.', 'message');
    // Plain text: control characters other than line breaks go, lines are kept.
    message = choices.message.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '').trim() || null;
    if (message && [...message].length > MAX_MESSAGE_CHARS) throw new InvalidInput(`The message can be at most ${MAX_MESSAGE_CHARS} characters.`, 'message');
  }
  return { ttl_ms: days === null ? null : days * DAY_MS, message };
}

/** `30d` (the CLI's form) → 30; anything else is refused by `checkedChoices`. */
export function parseExpiryDays(value: string): number {
  const match = /^(\d+)d?$/.exec(value.trim());
  if (!match) throw new InvalidInput(`An invitation can expire in ${EXPIRY_CHOICES.join(', ')} days, not "${value}".`, 'expires_in_days');
  return Number(match[1]);
}
