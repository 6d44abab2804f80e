import type { NextFunction, Request, Response } from 'express';

/**
 * Refuses a body whose declared Content-Length is over `maxBytes` at once, before anything reads
 * it, and closes the connection so the rest is never received. (The body parsers refuse it too,
 * but only after reading — and discarding — all of it.) Bodies without a length are counted by
 * the parsers, which stop keeping them at the limit.
 */
export function declaredBodyLimit(maxBytes: number, refuse: (res: Response) => void) {
  return (req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.get('content-length') ?? 0);
    if (!(declared > maxBytes)) return next();
    res.set('Connection', 'close');
    refuse(res);
  };
}
