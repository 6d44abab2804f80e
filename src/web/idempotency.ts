import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { isUniqueViolation, retryThroughOutage, type Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import { DAY_MS, type Clock } from '../shared/clock.js';
import { HttpError } from './errors.js';

/** A request still under way this long after it started was cut off (a crash): its key may be used again. */
const ABANDONED_AFTER_MS = 60_000;
/** Statuses a retry should run again rather than be answered with: the server's failures and "not now". */
const NOT_KEPT = (status: number) => status >= 500 || status === 409 || status === 429;
/** Who has not signed in (an accept): only a success is kept, so refused guesses store nothing. */
export const ANYONE = 'anyone';
/** How long keeping an answer may wait out a database fault before the answer goes without it. */
const KEEP_WITHIN_MS = 5_000;

/**
 * The rule "Idempotency-Key": medusa-js keys every POST it may retry, and a repeat (same `caller`, route
 * and body) gets the first answer back for a day instead of running twice, so a lost "OK" after an accept
 * does not come back as "already accepted". `caller`: the member, or "anyone" before sign-in.
 */
export function idempotent(db: Db, clock: Clock, logger: Logger, caller: (res: Response) => string) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.get('idempotency-key');
    if (key === undefined) return next();
    try {
      if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw new HttpError(400, 'invalid_data', 'Idempotency-Key must be 1 to 255 visible ASCII characters.');
      const who = caller(res);
      const keyHash = keyHashOf(req.method, `${req.baseUrl}${req.path}`, who, key);
      const fingerprint = sha256(jsonWithoutPasswords(req.body ?? null));
      const now = clock.now();
      await db('idempotency_keys').where('created_at', '<', now - DAY_MS).delete();
      const claimed = await db('idempotency_keys')
        .insert({ key_hash: keyHash, fingerprint, created_at: now })
        .then(() => true, (error: unknown) => (isUniqueViolation(error) ? false : Promise.reject(error)));
      if (!claimed) {
        const kept = (await db('idempotency_keys').where({ key_hash: keyHash }).first()) as KeptAnswer | undefined;
        if (kept?.fingerprint && kept.fingerprint !== fingerprint) throw new HttpError(422, 'invalid_data', 'This Idempotency-Key was used for another request; use a new key for a new request.', 'idempotency_key_reused');
        if (kept && kept.status !== null) {
          res.status(Number(kept.status)).set('Idempotent-Replayed', 'true');
          if (kept.content_type) res.type(kept.content_type);
          return void res.send(kept.body ?? '');
        }
        // Under way, unless it was cut off long ago (then this request takes the key over).
        const takenOver = kept ? await db('idempotency_keys').where({ key_hash: keyHash, created_at: kept.created_at }).whereNull('status').andWhere('created_at', '<', now - ABANDONED_AFTER_MS).update({ created_at: now }) : 0;
        if (!takenOver) {
          res.set('Retry-After', '1');
          throw new HttpError(409, 'conflict', 'A request with this Idempotency-Key is still under way; try again in a moment.', 'idempotency_key_in_use');
        }
      }
      // The claim is this request's by its moment: a late answer of one taken over changes nothing.
      keepAnswer(db, logger, res, keyHash, now, who === ANYONE);
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * The body as JSON.stringify writes it, without its passwords (an accept's): a fast hash of one kept for
 * a day would let whoever reads the database test guesses without scrypt. The token in the same body
 * still tells requests apart. Written with a stack of its own rather than by recursion (JSON.stringify's
 * included): JSON.parse takes nesting far deeper than the call stack goes, and a body deep enough to
 * overflow it must get the route's own refusal, not a server failure.
 */
function jsonWithoutPasswords(body: unknown): string {
  const out: string[] = [];
  // Popped from the end: punctuation already decided, or a value still to write.
  const steps: Array<{ text: string } | { value: unknown }> = [{ value: body }];
  for (let step = steps.pop(); step !== undefined; step = steps.pop()) {
    if ('text' in step) {
      out.push(step.text);
      continue;
    }
    const { value } = step;
    if (Array.isArray(value)) {
      steps.push({ text: ']' });
      for (let i = value.length - 1; i >= 0; i--) steps.push({ value: value[i] }, { text: i > 0 ? ',' : '' });
      steps.push({ text: '[' });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value).filter(([key]) => key !== 'password');
      steps.push({ text: '}' });
      for (let i = entries.length - 1; i >= 0; i--) steps.push({ value: entries[i]![1] }, { text: `${i > 0 ? ',' : ''}${JSON.stringify(entries[i]![0])}:` });
      steps.push({ text: '{' });
    } else {
      // A parsed body holds no undefined or function; JSON.stringify writes either as null in an array.
      out.push(JSON.stringify(value) ?? 'null');
    }
  }
  return out.join('');
}

interface KeptAnswer {
  fingerprint: string;
  status: number | string | null;
  content_type: string | null;
  body: string | null;
  created_at: number | string;
}

/**
 * Keeps the answer under the key before it is sent, so a retry after it was lost finds it; an answer
 * not kept (a server failure) gives the key back.
 */
function keepAnswer(db: Db, logger: Logger, res: Response, keyHash: string, claimedAt: number, successOnly: boolean): void {
  const send = res.send.bind(res);
  res.send = (body?: unknown) => {
    // Once: Express's own send calls send again (through json) for an object.
    res.send = send;
    const status = res.statusCode;
    const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : JSON.stringify(body ?? '');
    if (typeof body === 'object' && !Buffer.isBuffer(body) && !res.get('content-type')) res.type('application/json');
    const ours = () => db('idempotency_keys').where({ key_hash: keyHash, created_at: claimedAt });
    const kept = NOT_KEPT(status) || (successOnly && status >= 300) ? () => ours().delete() : () => ours().update({ status, content_type: String(res.get('content-type') ?? '').slice(0, 100) || null, body: text });
    retryThroughOutage(kept, { outageMs: KEEP_WITHIN_MS })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not keep an answer under its Idempotency-Key; a retry of it runs again once the key is let go'))
      .then(() => send(body))
      .catch((error: unknown) => logger.error({ err: error }, 'could not send an answer'));
    return res;
  };
}

/** Where a key's answer is kept: the key with its route and caller, hashed (a key is the client's text). */
export function keyHashOf(method: string, path: string, caller: string, key: string): string {
  return sha256(`${method} ${path}\n${caller}\n${key}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
