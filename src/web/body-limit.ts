import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

/** How much of a refused body is read (and dropped) after the refusal, and for how long, before the connection is closed. */
const LINGER_BYTES = 16 * 1024 * 1024;
const LINGER_MS = 5_000;

/**
 * Refuses a body whose declared Content-Length is over `maxBytes` at once, before anything parses
 * it. A server that answers and closes while the client is still writing makes the client see a
 * connection reset instead of the answer; so, as nginx does, what the client goes on sending is read
 * and dropped for a while after the refusal, and only past a bound of bytes or time is the
 * connection closed.
 */
export function declaredBodyLimit(maxBytes: number, refuse: (res: Response) => void) {
  return (req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.get('content-length') ?? 0);
    if (!(declared > maxBytes)) return next();
    lingerThenClose(req);
    refuse(res);
  };
}

function lingerThenClose(req: IncomingMessage): void {
  let seen = 0;
  const close = () => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > LINGER_BYTES) close();
  });
  req.once('end', () => clearTimeout(timer));
}
