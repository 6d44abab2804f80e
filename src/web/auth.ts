import { createHmac } from 'node:crypto';
import type { CookieOptions, NextFunction, Request, Response } from 'express';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Member, MembersService } from '../members/service.js';
import type { Clock } from '../shared/clock.js';

export const SESSION_COOKIE = 'doorman.sid';
/**
 * Over HTTPS the cookie is a `__Host-` one: browsers take it only when Secure, for the host itself
 * (no Domain) and for Path=/, so a sibling subdomain cannot plant one of the same name.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
export const BEARER_TTL_S = 24 * 3600;
export const SESSION_TTL_S = 10 * 3600;

/** How a request proved who it is. */
export type AuthMethod = 'api_token' | 'bearer' | 'cookie';

/**
 * The three ways into the admin API, as Medusa v1 has them: a member's API token in
 * `x-medusa-access-token`, `Authorization: Bearer` with a token from /admin/auth/token, or the
 * session cookie from /admin/auth. Bearer tokens and cookies are signed with keys derived from
 * APP_SECRET and carry the member's session version: signing out, deactivation and coming back
 * all move it on, which ends every earlier one. The member must be active on every request.
 */
export class AdminAuth {
  private readonly bearerKey: Uint8Array;
  private readonly sessionKey: Uint8Array;
  /** The session cookie's name and the attributes it is set and deleted with (a browser takes a deletion only with the same ones). */
  private readonly cookie: { name: string; attributes: CookieOptions };

  constructor(appSecret: string, private readonly members: MembersService, private readonly clock: Clock, secureCookies: boolean) {
    const attributes: CookieOptions = { httpOnly: true, sameSite: 'lax', secure: secureCookies, path: secureCookies ? '/' : '/admin' };
    this.cookie = { name: secureCookies ? SECURE_SESSION_COOKIE : SESSION_COOKIE, attributes };
    this.bearerKey = derive(appSecret, 'doorman/admin-bearer/v1');
    this.sessionKey = derive(appSecret, 'doorman/admin-session/v1');
  }

  async issueBearer(member: Member): Promise<string> {
    return this.sign(this.bearerKey, member, BEARER_TTL_S);
  }

  async startSession(res: Response, member: Member): Promise<void> {
    const value = await this.sign(this.sessionKey, member, SESSION_TTL_S);
    res.cookie(this.cookie.name, value, { ...this.cookie.attributes, maxAge: SESSION_TTL_S * 1000 });
  }

  /** Signs out: the cookie is dropped and every session and Bearer token of the member ends. */
  async endSession(res: Response, member: Member): Promise<void> {
    await this.members.endSessions(member.id);
    res.clearCookie(this.cookie.name, this.cookie.attributes);
  }

  /**
   * The member behind a request and how they proved it, or undefined. As in Medusa, the first
   * credential that works wins: a stale API token beside a good Bearer token (medusa-js sends both),
   * or a proxy's Basic authorization beside the session cookie, does not hide the good one.
   */
  async authenticate(req: Request): Promise<{ member: Member; method: AuthMethod } | undefined> {
    const { apiToken, bearer, cookie } = this.credentials(req);
    return (
      (apiToken ? as('api_token', await this.members.findByApiToken(apiToken)) : undefined) ??
      (bearer ? as('bearer', await this.verify(this.bearerKey, bearer)) : undefined) ??
      (cookie ? as('cookie', await this.verify(this.sessionKey, cookie)) : undefined)
    );
  }

  /** Whether the request carries any credential at all (one that may be wrong). */
  presentsCredential(req: Request): boolean {
    const { apiToken, bearer, cookie } = this.credentials(req);
    return !!(apiToken || bearer || cookie);
  }

  private credentials(req: Request) {
    return {
      apiToken: req.get('x-medusa-access-token'),
      bearer: /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1],
      cookie: readCookie(req.get('cookie'), this.cookie.name),
    };
  }

  private async sign(key: Uint8Array, member: Member, ttlS: number): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    const claims = { user_id: member.id, domain: 'admin', sv: member.sessionVersion };
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + ttlS).sign(key);
  }

  private async verify(key: Uint8Array, token: string): Promise<Member | undefined> {
    if (token.length > 2048) return undefined;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'], currentDate: new Date(this.clock.now()) }));
    } catch {
      return undefined;
    }
    if (payload.domain !== 'admin' || typeof payload.user_id !== 'string') return undefined;
    // A database fault is the server's (500), not "sign in first": only a member gone ends the token.
    const member = await this.members.find(payload.user_id);
    // Issued before the member last signed out (or was deactivated): over, though its signature is good.
    if (!member || payload.sv !== member.sessionVersion) return undefined;
    return member.state === 'active' ? member : undefined;
  }
}

function derive(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', secret).update(purpose).digest());
}

/**
 * The cookie's value; undefined when absent, badly encoded (anyone can forge one), or sent twice: a
 * sibling subdomain can set a second one for the parent domain, and the browser may list it first,
 * so a request carrying two is signed in as neither.
 */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  if (values.length !== 1) return undefined;
  try {
    return decodeURIComponent(values[0]!);
  } catch {
    return undefined;
  }
}

function as(method: AuthMethod, member: Member | undefined): { member: Member; method: AuthMethod } | undefined {
  return member ? { member, method } : undefined;
}

/** Locals set by `requireMember` for the routes after it. */
export function currentMember(res: Response): Member {
  return res.locals.member as Member;
}

export function authMethod(res: Response): AuthMethod {
  return res.locals.authMethod as AuthMethod;
}

export function requireMember(auth: AdminAuth, onMissing: (req: Request, res: Response) => Promise<void> | void) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const found = await auth.authenticate(req);
      if (!found) return await onMissing(req, res);
      res.locals.member = found.member;
      res.locals.authMethod = found.method;
      next();
    } catch (error) {
      next(error);
    }
  };
}
