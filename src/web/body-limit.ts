import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

/** How much of a refused body is read (and dropped) so the client can read the refusal, and for how long. */
const DRAIN_BYTES = 64 * 1024 * 1024;
const DRAIN_MS = 10_000;

/**
 * Refuses a body whose declared Content-Length is over `maxBytes` before anything parses it. The
 * refusal (413) is sent once the client has finished sending: a server that answers and closes
 * while the client is still writing makes the client see a connection reset, not the answer. What
 * is read is dropped, up to a bound of bytes and time; past it the answer goes out and the
 * connection is closed.
 */
export function declaredBodyLimit(maxBytes: number, refuse: (res: Response) => void) {
  return (req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.get('content-length') ?? 0);
    if (!(declared > maxBytes)) return next();
    res.set('Connection', 'close');
    void discardBody(req).then((whole) => {
      refuse(res);
      if (!whole) setTimeout(() => req.socket.destroy(), 1_000).unref();
    });
  };
}

/** Reads and drops the request body; true when it ended within the bounds. */
function discardBody(req: IncomingMessage): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = (whole: boolean) => {
      clearTimeout(timer);
      req.removeListener('data', count);
      req.pause();
      resolve(whole);
    };
    const count = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > DRAIN_BYTES) done(false);
    };
    const timer = setTimeout(() => done(false), DRAIN_MS);
    req.on('data', count);
    req.once('end', () => done(true));
    req.once('error', () => done(false));
    req.resume();
  });
}
