import type { ReadCoalescer } from '../db/coalesce.js';
import type { Db } from '../db/index.js';
import type { InvitesService } from '../invites/service.js';
import type { Logger } from '../logger.js';
import type { MembersService } from '../members/service.js';
import type { Clock } from '../shared/clock.js';
import type { Background } from './background.js';
import type { SlackPermissions } from './permissions.js';

/** What the Slack listeners work with: the domain services and a few Slack-side helpers. */
export interface SlackDeps {
  db: Db;
  invites: InvitesService;
  members: MembersService;
  clock: Clock;
  logger: Logger;
  permissions: SlackPermissions;
  background: Background;
  /** Shares one rendered surface among requests asking for the same one at the same moment. */
  renders: ReadCoalescer;
}
