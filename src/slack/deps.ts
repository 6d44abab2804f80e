import type { webApi } from '@slack/bolt';
import type { Db } from '../db/index.js';
import type { InvitesService } from '../invites/service.js';
import type { Logger } from '../logger.js';
import type { MembersService } from '../members/service.js';
import type { Clock } from '../shared/clock.js';
import type { Background } from './background.js';
import type { SlackDedupe } from './dedupe.js';
import type { InviteDrafts } from './drafts.js';
import type { SlackIdentities } from './identity.js';
import type { SlackListImports } from './list-imports.js';

/** What the Slack listeners work with: the domain services and a few Slack-side helpers. */
export interface SlackDeps {
  db: Db;
  invites: InvitesService;
  members: MembersService;
  clock: Clock;
  logger: Logger;
  identities: SlackIdentities;
  dedupe: SlackDedupe;
  background: Background;
  /** The slash command, as configured (SLACK_COMMAND). */
  command: string;
  /** INVITE_TTL: the form's default expiry. */
  inviteTtlMs: number;
  /** Lists under review in the invite form. */
  drafts: InviteDrafts;
  /** Lists from files attached to the invite form. */
  listImports: SlackListImports;
  /**
   * For `views.open`, which spends a trigger: a trigger works once and for 3 seconds, so its quick
   * retries stop within that life, and a 429 is not waited out (the wait would outlive it).
   */
  triggers: webApi.WebClient;
}
