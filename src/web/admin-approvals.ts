import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import type { InvitesService } from '../invites/service.js';
import { MAX_DENY_REASON } from '../invites/decisions.js';
import { can, memberActor } from '../members/service.js';
import { NotPermitted } from '../shared/errors.js';
import { currentMember } from './auth.js';
import { text, validate } from './validate.js';

/**
 * Doorman's extensions to Medusa's admin Invites API for the rule "Policy":
 * `POST /admin/invites/:id/approve` (no body) and `POST /admin/invites/:id/deny` (`{reason}`).
 * Both need `invite:approve`; the token's member cannot decide a request they made themselves.
 * Each answers the invitation as it is after the decision.
 */
const emptyBody = z.object({}).strict();
const denyBody = z.object({ reason: text(MAX_DENY_REASON).min(1, 'reason should not be empty') }).strict();

export function approvalRoutes(
  router: Router,
  deps: {
    invites: InvitesService;
    present(invitation: Awaited<ReturnType<InvitesService['approve']>>): unknown;
    wrap(handler: (req: Request, res: Response) => Promise<unknown>): (req: Request, res: Response, next: (e?: unknown) => void) => void;
    /** The rule "Idempotency-Key". */
    once: RequestHandler;
  },
): void {
  const approver = (_req: Request, res: Response, next: (e?: unknown) => void) => (can(currentMember(res), 'invite:approve') ? next() : next(new NotPermitted('invite:approve')));
  router.post('/invites/:id/approve', approver, deps.once, deps.wrap(async (req, res) => {
    validate(emptyBody, req.body ?? {});
    const invitation = await deps.invites.approve(String(req.params.id), memberActor(currentMember(res)));
    res.json({ invite: deps.present(invitation) });
  }));
  router.post('/invites/:id/deny', approver, deps.once, deps.wrap(async (req, res) => {
    const body = validate(denyBody, req.body);
    const invitation = await deps.invites.deny(String(req.params.id), memberActor(currentMember(res)), body.reason);
    res.json({ invite: deps.present(invitation) });
  }));
}
