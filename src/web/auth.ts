import { createHmac } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import type { Member, MembersService } from '../members/service.js';
import type { Clock } from '../shared/clock.js';

export const SESSION_COOKIE = 'doorman.sid';
export const BEARER_TTL_S = 24 * 3600;
export const SESSION_TTL_S = 10 * 3600;

/**
 * The three ways into the admin API, as Medusa v1 has them: a member's API token in
 * `x-medusa-access-token`, `Authorization: Bearer` with a token from /admin/auth/token, or the
 * session cookie from /admin/auth. Tokens and cookies are signed with keys derived from APP_SECRET;
 * the member must still be active on every request.
 */
export class AdminAuth {
  private readonly bearerKey: Uint8Array;
  private readonly sessionKey: Uint8Array;

  constructor(appSecret: string, private readonly members: MembersService, private readonly clock: Clock, private readonly secureCookies: boolean) {
    this.bearerKey = derive(appSecret, 'doorman/admin-bearer/v1');
    this.sessionKey = derive(appSecret, 'doorman/admin-session/v1');
  }

  async issueBearer(member: Member): Promise<string> {
    return this.sign(this.bearerKey, member, BEARER_TTL_S);
  }

  async startSession(res: Response, member: Member): Promise<void> {
    const value = await this.sign(this.sessionKey, member, SESSION_TTL_S);
    res.cookie(SESSION_COOKIE, value, { httpOnly: true, sameSite: 'lax', secure: this.secureCookies, maxAge: SESSION_TTL_S * 1000, path: '/admin' });
  }

  /** Signs out: the cookie is dropped and every session of the member ends (bearer tokens, used by scripts, run out on their own). */
  async endSession(res: Response, member: Member): Promise<void> {
    await this.members.endSessions(member.id);
    res.clearCookie(SESSION_COOKIE, { path: '/admin' });
  }

  /** The member behind a request, or undefined. */
  async authenticate(req: Request): Promise<Member | undefined> {
    const apiToken = req.get('x-medusa-access-token');
    if (apiToken) return this.members.findByApiToken(apiToken);
    const authorization = req.get('authorization');
    if (authorization) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      return match ? this.verify(this.bearerKey, match[1]!) : undefined;
    }
    const cookie = readCookie(req.get('cookie'), SESSION_COOKIE);
    return cookie ? this.verify(this.sessionKey, cookie) : undefined;
  }

  private async sign(key: Uint8Array, member: Member, ttlS: number): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    const claims = key === this.sessionKey ? { user_id: member.id, domain: 'admin', sv: member.sessionVersion } : { user_id: member.id, domain: 'admin' };
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + ttlS).sign(key);
  }

  private async verify(key: Uint8Array, token: string): Promise<Member | undefined> {
    if (token.length > 2048) return undefined;
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], currentDate: new Date(this.clock.now()) });
      if (payload.domain !== 'admin' || typeof payload.user_id !== 'string') return undefined;
      const member = await this.members.get(payload.user_id);
      // A session from before the member last signed out is over, though its signature is good.
      if (key === this.sessionKey && payload.sv !== member.sessionVersion) return undefined;
      return member.state === 'active' ? member : undefined;
    } catch {
      return undefined;
    }
  }
}

function derive(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', secret).update(purpose).digest());
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      // A cookie anyone can forge: bad percent-encoding is "no session", not a server error.
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Locals set by `requireMember` for the routes after it. */
export function currentMember(res: Response): Member {
  return res.locals.member as Member;
}

export function requireMember(auth: AdminAuth, onMissing: (res: Response) => void) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const member = await auth.authenticate(req);
      if (!member) return onMissing(res);
      res.locals.member = member;
      next();
    } catch (error) {
      next(error);
    }
  };
}
