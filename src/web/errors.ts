import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { DailyLimitReached, DomainError, Overloaded, type DomainErrorCode } from '../shared/errors.js';

/** Medusa v1's error body: `{type, message}` (plus our precise `code`). */
export interface MedusaErrorBody {
  type: 'invalid_data' | 'not_found' | 'unauthorized' | 'not_allowed' | 'conflict' | 'unknown_error';
  message: string;
  code?: string;
}

const DOMAIN_TO_MEDUSA: Record<DomainErrorCode, [number, MedusaErrorBody['type']]> = {
  invalid_input: [400, 'invalid_data'],
  not_found: [404, 'not_found'],
  unknown_token: [400, 'invalid_data'],
  link_replaced: [400, 'invalid_data'],
  invite_expired: [400, 'invalid_data'],
  invite_not_expired: [400, 'not_allowed'],
  invite_revoked: [400, 'invalid_data'],
  sent_again: [400, 'not_allowed'],
  invite_accepted: [400, 'not_allowed'],
  already_member: [400, 'invalid_data'],
  weak_password: [400, 'invalid_data'],
  invalid_credentials: [401, 'unauthorized'],
  not_permitted: [403, 'not_allowed'],
  last_admin: [400, 'not_allowed'],
  member_deactivated: [400, 'not_allowed'],
  overloaded: [503, 'unknown_error'],
  awaiting_approval: [400, 'not_allowed'],
  not_awaiting_approval: [400, 'not_allowed'],
  already_decided: [400, 'not_allowed'],
  own_request: [403, 'not_allowed'],
  approval_lapsed: [400, 'not_allowed'],
  daily_limit: [429, 'not_allowed'],
};

/** Thrown by the HTTP layer itself (bad body, missing auth). */
export class HttpError extends Error {
  constructor(readonly status: number, readonly type: MedusaErrorBody['type'], message: string, readonly code?: string) {
    super(message);
  }
}

/** The one place where errors become admin API answers. */
export function toMedusaError(error: unknown): { status: number; body: MedusaErrorBody } {
  if (error instanceof DomainError) {
    const [status, type] = DOMAIN_TO_MEDUSA[error.code];
    return { status, body: { type, message: error.message, code: error.code } };
  }
  if (error instanceof HttpError) return { status: error.status, body: { type: error.type, message: error.message, ...(error.code ? { code: error.code } : {}) } };
  const bodyError = error as { type?: string; status?: number };
  if (bodyError?.type === 'entity.too.large') return { status: 413, body: { type: 'invalid_data', message: 'The request body is too large.', code: 'payload_too_large' } };
  if (bodyError?.type === 'entity.parse.failed') return { status: 400, body: { type: 'invalid_data', message: 'The request body is not valid JSON.' } };
  if (bodyError?.type === 'encoding.unsupported' || bodyError?.type === 'charset.unsupported') return { status: 415, body: { type: 'invalid_data', message: 'Unsupported request encoding.' } };
  if (typeof bodyError?.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    return { status: bodyError.status, body: { type: 'invalid_data', message: 'The request could not be read.' } };
  }
  return { status: 500, body: { type: 'unknown_error', message: 'An unknown error occurred.' } };
}

export function medusaErrorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toMedusaError(error);
    if (status >= 500 && !(error instanceof Overloaded)) logger.error({ err: error }, 'admin API request failed');
    if (res.headersSent) return;
    if ((error instanceof Overloaded || error instanceof DailyLimitReached) && error.retryAfterS !== undefined) res.set('Retry-After', String(error.retryAfterS));
    res.status(status).json(body);
  };
}
