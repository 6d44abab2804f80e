import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Invitation } from '../invites/model.js';
import type { InvitesService } from '../invites/service.js';
import { escapeHtml as h } from '../mail/templates.js';
import { nameProblem } from '../members/model.js';
import { PASSWORD_MAX, PASSWORD_MIN, passwordProblem } from '../members/passwords.js';
import { ROLE_LABELS } from '../members/roles.js';
import { MAX_NAME_CHARS } from '../shared/actor.js';
import { AlreadyMember, DomainError, InvitationAccepted, InvitationExpired, InvitationRevoked, MemberDeactivated, Overloaded, UnknownToken } from '../shared/errors.js';
import { clientKey, type FailureLimits } from './failure-limits.js';
import { declaredBodyLimit } from './body-limit.js';
import { waitWords } from '../shared/errors.js';
import { ACCEPT_SCRIPT, acceptedPage, acceptForm, momentHtml, problemPage, renewalRequestedPage, renewalRequestForm, signInLink, STYLESHEET, type FormState } from './pages.js';

/** Room for the longest password twice (with its confirmation) in any script: percent-encoded UTF-8 takes up to 9 bytes a character. */
const ACCEPT_FORM_LIMIT_BYTES = 64 * 1024;
/** A password is never sent back to the page: a form that comes back says so, or the next send fails on an empty one. */
const RETYPE_PASSWORDS = { password: 'Enter your password again (it is not kept when the form comes back).', confirm_password: 'Enter it again here too.' };

export interface AcceptPageDeps {
  invites: InvitesService;
  orgName: string;
  /** SIGN_IN_URL: pages that send the person to sign in link there. */
  signInUrl?: string;
  logger: Logger;
  /** Links that match nothing, per client address: guessing is answered "too many attempts" for a while. */
  tokenFailures: FailureLimits;
  /** Requests for a new invitation, per client address (each one counts). */
  renewalRequests: FailureLimits;
}

/** Headers for pages that carry a token in their URL. */
export function pageHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'Referrer-Policy': 'no-referrer',
    'X-Robots-Tag': 'noindex, nofollow',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
  });
  next();
}

/**
 * The one place where domain errors become the invitee's words and status codes. An expired link
 * gets a way to ask for a new one when `renewalToken` is given.
 */
export function pageForError(error: unknown, orgName: string, renewalToken?: string, signInUrl?: string): { status: number; html: string } | undefined {
  if (!(error instanceof DomainError)) return undefined;
  switch (error.code) {
    case 'unknown_token':
      return { status: 404, html: problemPage(orgName, 'This link does not work', 'This invitation link is not valid. Check that you opened the whole link from the email.', `If it still fails, ask the person who invited you to ${orgName} to send a new invitation.`) };
    case 'link_replaced':
      return { status: 410, html: problemPage(orgName, 'This link was replaced', `A newer invitation to ${orgName} was sent to you, with a new link; this one no longer works.`, 'Open the link in the most recent invitation email.') };
    case 'invite_expired': {
      const e = error as InvitationExpired;
      const who = e.invitedBy ? `Ask ${e.invitedBy}` : `Ask an admin of ${orgName}`;
      const when = { html: `Your invitation to ${h(orgName)} expired on ${momentHtml(e.expiredAt)}.` };
      if (renewalToken) return { status: 410, html: problemPage(orgName, 'This invitation has expired', when, `You can ask for a new one here, or ${who.replace(/^Ask/, 'ask')} directly.`, renewalRequestForm(renewalToken)) };
      return { status: 410, html: problemPage(orgName, 'This invitation has expired', when, `${who} to send you a new invitation.`) };
    }
    case 'invite_revoked': {
      const inviter = (error as InvitationRevoked).invitedBy;
      return { status: 410, html: problemPage(orgName, 'This invitation was withdrawn', `This invitation to ${orgName} was revoked and no longer works.`, `If you think this is a mistake, ask ${inviter ? `${inviter} or ` : ''}an admin of ${orgName} for a new invitation.`) };
    }
    case 'invite_accepted': {
      // Whoever set it up (most often the one reloading or going back) recognizes the address and the moment.
      const e = error as InvitationAccepted;
      const what = e.email && e.acceptedAt !== undefined ? { html: `The account for ${h(e.email)} at ${h(orgName)} was set up with it on ${momentHtml(e.acceptedAt)}.` } : 'Someone already accepted this invitation and set up the account.';
      return { status: 409, html: problemPage(orgName, 'This invitation was already used', what, `If that was you, sign in with that email and the password you chose. If it was not, or you forgot the password, ask an admin of ${orgName}.`, signInLink(signInUrl, orgName)) };
    }
    case 'already_member':
      return { status: 409, html: problemPage(orgName, 'You are already a member', `There is already an account for ${(error as AlreadyMember).email} at ${orgName}.`, `Sign in with your email and password; if you forgot the password, ask an admin of ${orgName}.`, signInLink(signInUrl, orgName)) };
    case 'member_deactivated': {
      const email = (error as MemberDeactivated).email;
      return { status: 410, html: problemPage(orgName, 'This account was deactivated', `The account${email ? ` for ${email}` : ''} at ${orgName} that this invitation set up has been deactivated, so it can no longer sign in.`, `To come back, ask an admin of ${orgName} for a new invitation.`) };
    }
    case 'awaiting_approval':
      // A link sent before the invitation was held again (raised to admin): it stays dead; approval sends a new one.
      return { status: 409, html: problemPage(orgName, 'This invitation is waiting for approval', `Someone at ${orgName} has to approve this invitation before it can be used.`, 'Once it is approved you get a new email with a link that works.') };
    case 'overloaded':
      return { status: 503, html: problemPage(orgName, 'Please try again in a moment', 'Many people are setting up their accounts right now, and yours could not be taken just now. Nothing was changed.', 'Open the link from your email again in a few seconds.') };
    default:
      return undefined;
  }
}

/**
 * A link copied with the sentence around it ("…token=abc." or "(…token=abc)") still works: no token
 * ends in punctuation. Walked back by hand: a regular expression anchored at the end backtracks over
 * a long run of punctuation (seconds of CPU for a crafted link).
 */
function withoutTrailingPunctuation(token: string): string {
  let end = token.length;
  while (end > 0 && !/[A-Za-z0-9_-]/.test(token[end - 1]!)) end--;
  return token.slice(0, end);
}

export function acceptPage(deps: AcceptPageDeps): Router {
  const router = Router();
  const { invites, orgName } = deps;

  router.get('/assets/doorman.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=3600').send(STYLESHEET);
  });
  router.get('/favicon.ico', (_req, res) => {
    res.status(204).set('Cache-Control', 'public, max-age=86400').end();
  });
  router.get('/assets/accept.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'public, max-age=3600').send(ACCEPT_SCRIPT);
  });

  const send = (res: Response, status: number, html: string) => res.status(status).type('html').send(html);
  const fail = async (req: Request, res: Response, error: unknown, token?: string) => {
    if (error instanceof UnknownToken) {
      const { limited, retryAfterS } = await deps.tokenFailures.failed([clientKey(req)]);
      if (limited) {
        res.set('Retry-After', String(retryAfterS));
        return send(res, 429, problemPage(orgName, 'Too many attempts', 'There were too many attempts with links that do not work, from your network, in a short time.', `Wait ${waitWords(retryAfterS)}, then open the link from your email again.`));
      }
    }
    const page = pageForError(error, orgName, token && invites.takesRenewalRequests ? token : undefined, deps.signInUrl);
    if (page) return send(res, page.status, page.html);
    deps.logger.error({ err: error }, 'accept page failed');
    // After the form was sent the account may or may not exist: opening the link again tells which.
    if (req.method === 'POST') return send(res, 500, problemPage(orgName, 'Something went wrong', 'Your account may not have been set up.', 'Open the link from your email again in a minute: it shows the form again if not, or says the invitation was used if it was.'));
    return send(res, 500, problemPage(orgName, 'Something went wrong', 'We could not load your invitation. Please try again in a minute.'));
  };

  router.get('/invite', pageHeaders, async (req, res) => {
    const token = typeof req.query.token === 'string' ? withoutTrailingPunctuation(req.query.token) : '';
    if (!token) return send(res, 400, problemPage(orgName, 'This link is incomplete', 'The end of the invitation link is missing: it was probably cut when it was copied.', `Open the whole link from the email. If it still fails, ask the person who invited you to ${orgName} to send a new invitation.`));
    try {
      // Opening the page changes nothing: mail scanners and link previews are safe.
      const invitation = await invites.lookupToken(token);
      send(res, 200, acceptForm(invitation, orgName, token));
    } catch (error) {
      await fail(req, res, error, token);
    }
  });

  const tooLarge = (res: Response) => send(res, 413, problemPage(orgName, 'This form could not be read', 'What was sent was too large or not in the expected form.', 'Open the link from your email again and fill in the form.'));
  router.post('/invite', pageHeaders, declaredBodyLimit(ACCEPT_FORM_LIMIT_BYTES, tooLarge), express.urlencoded({ extended: false, limit: ACCEPT_FORM_LIMIT_BYTES, parameterLimit: 20 }), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const str = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : '');
    const token = str('token');
    const state: FormState = { firstName: str('first_name'), lastName: str('last_name'), errors: {} };
    let invitation: Invitation | undefined;
    try {
      invitation = await invites.lookupToken(token);
      const errors = state.errors!;
      // The domain's rules for names and passwords, in the page's words (the domain checks them again on accept).
      const nameWords = (which: string) => ({ missing: `Enter your ${which} name.`, control_characters: 'Remove the invisible control characters from your name.', too_long: `Use at most ${MAX_NAME_CHARS} characters.` });
      const firstNameProblem = nameProblem(state.firstName!);
      const lastNameProblem = nameProblem(state.lastName!);
      if (firstNameProblem) errors.first_name = nameWords('first')[firstNameProblem];
      if (lastNameProblem) errors.last_name = nameWords('last')[lastNameProblem];
      const passwordWords = { too_short: `Use at least ${PASSWORD_MIN} characters.`, too_long: `Use at most ${PASSWORD_MAX} characters.` };
      const badPassword = passwordProblem(str('password'));
      if (badPassword) errors.password = passwordWords[badPassword];
      if (str('password') !== str('confirm_password')) errors.confirm_password = 'The passwords do not match.';
      if (Object.keys(errors).length) {
        errors.form = 'Please correct the fields marked below.';
        errors.password ??= RETYPE_PASSWORDS.password;
        errors.confirm_password ??= RETYPE_PASSWORDS.confirm_password;
        return send(res, 422, acceptForm(invitation, orgName, token, state));
      }
      await invites.accept({ token, firstName: state.firstName, lastName: state.lastName, password: str('password') });
      // Post/Redirect/Get: reloading the welcome, or going back to it, asks for nothing again.
      res.redirect(303, `/invite/welcome?token=${encodeURIComponent(token)}`);
    } catch (error) {
      if (error instanceof Overloaded && invitation) {
        // Busy hashing: the form comes back as it was sent, names kept, to be sent again.
        res.set('Retry-After', String(error.retryAfterS));
        return send(res, 503, acceptForm(invitation, orgName, token, { ...state, errors: { form: 'Many people are setting up their accounts right now, and yours could not be taken just now. Nothing was changed: enter your password again and send the form in a few seconds.', ...RETYPE_PASSWORDS } }));
      }
      // With the token: a link that expired while the form was open still offers to ask for a new one.
      await fail(req, res, error, token);
    }
  });

  // Where an accept leads: reloaded, or reached again through Back, it says the same.
  router.get('/invite/welcome', pageHeaders, async (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    try {
      const accepted = await invites.acceptedByToken(token);
      // Still open: nobody accepted it yet.
      if (!accepted) return res.redirect(303, `/invite?token=${encodeURIComponent(token)}`);
      send(res, 200, acceptedPage(accepted.email, orgName, ROLE_LABELS[accepted.role], deps.signInUrl));
    } catch (error) {
      await fail(req, res, error, token);
    }
  });

  // Where a request lands (Post/Redirect/Get: a reload asks nothing again); reached otherwise by a
  // copied address, it says what it is for, not Express's bare "Cannot GET".
  router.get('/invite/renewal', pageHeaders, (req, res) => {
    if (req.query.requested === '1') return send(res, 200, renewalRequestedPage(orgName));
    send(res, 404, problemPage(orgName, 'Nothing to show here', 'This address takes requests for a new invitation from the page of an expired one.', 'To ask again, open the link from your invitation email.'));
  });

  router.post('/invite/renewal', pageHeaders, declaredBodyLimit(16 * 1024, tooLarge), express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 }), async (req, res) => {
    const { limited, retryAfterS } = await deps.renewalRequests.failed([clientKey(req)]);
    if (limited) {
      res.set('Retry-After', String(retryAfterS));
      return send(res, 429, problemPage(orgName, 'Too many requests', 'There were too many requests for new invitations from your network in a short time.', `Try again in ${waitWords(retryAfterS)}.`));
    }
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    try {
      const asked = await invites.requestRenewal(token);
      deps.logger.info({ asked }, 'renewal requested on the expired page');
    } catch (error) {
      deps.logger.error({ err: error }, 'renewal request failed');
      return send(res, 500, problemPage(orgName, 'Something went wrong', 'Your request could not be taken just now. Please try again in a minute.'));
    }
    res.redirect(303, '/invite/renewal?requested=1');
  });

  // A form body the parser refuses (too large, too many fields, bad charset) gets a readable page,
  // not Express's default one with a stack trace.
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = (error as { status?: unknown } | undefined)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return send(res, status, problemPage(orgName, 'This form could not be read', 'What was sent was too large or not in the expected form.', 'Open the link from your email again and fill in the form.'));
    }
    void fail(_req, res, error);
  });
  return router;
}
