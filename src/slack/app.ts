import { App, ExpressReceiver, SocketModeReceiver, webApi } from '@slack/bolt';
import type { Express } from 'express';
import type { Services } from '../app.js';
import { slackMode } from '../config.js';
import { ConfigError } from '../shared/errors.js';
import type { OutboxHandler } from '../outbox/handler.js';
import { Background } from './background.js';
import { Every } from '../jobs/scheduler.js';
import { slackFileOrigins } from './file-download.js';
import { SlackListImports } from './list-imports.js';
import { SlackDedupe } from './dedupe.js';
import { InviteDrafts } from './drafts.js';
import type { SlackDeps } from './deps.js';
import { readProfile, SlackIdentities } from './identity.js';
import { RECEIVED_AT } from './listeners/deadline.js';
import { registerListeners } from './listeners/index.js';
import { boltLogger } from './logger.js';
import { countingFetch, DEFAULT_SLACK_API_URL, slackRequestTiming } from '../metrics/slack.js';
import { DeactivatedInSlack } from './notices/deactivated.js';
import { noticeClient, slackNoticeHandler } from './notices/handler.js';
import { ChannelPacer } from './notices/pacer.js';
import { approvalMessageHandlers } from './notices/approval-messages.js';
import { CHANNEL_OUT_OF_REACH, channelWarner, slackRefusal } from './refusals.js';
import { SocketConnection } from './socket-connection.js';
import { SlackAppHold, throwIfRateLimited } from './notices/refusal-or-retry.js';

export interface SlackDoor {
  mode: 'http' | 'socket';
  app: App;
  /** Delivers queued Slack notices (DMs) for the outbox worker. */
  notices: OutboxHandler;
  /** Posts approval requests and updates them in place once decided (the rule "Policy"). */
  approvals: OutboxHandler[];
  /** Posts lines to AUDIT_CHANNEL, when it is set. */
  postToAuditChannel?: (lines: string[]) => Promise<void>;
  /** Socket Mode: opens the connection (HTTP mode is served by the web server). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The endpoint Slack posts commands, interactivity and events to in HTTP mode. */
export const SLACK_EVENTS_PATH = '/slack/events';

/** The largest request body the Slack endpoint reads; Slack's own payloads stay far below it. */
export const SLACK_BODY_LIMIT_BYTES = 1024 * 1024;

/** How long users.info may take; requests with a deadline stop waiting sooner (the lookup goes on). */
const PROFILE_TIMEOUT_MS = 8_000;
/** A trigger lives 3 seconds from Slack's sending it; a views.open still unanswered after this has lost it. */
const TRIGGER_LIFE_MS = 3_000;
/** How often auth.test is asked again when Slack was out of reach at start. */
export const TEAM_RETRY_MS = 30_000;

/**
 * The Slack door: a Bolt app whose listeners are registered by surface (listeners/). HTTP mode
 * mounts POST /slack/events on the web server (Bolt verifies each request's signature); with
 * SLACK_APP_TOKEN, Socket Mode instead.
 */
export async function createSlackDoor(services: Services, web: Express): Promise<SlackDoor> {
  const mode = slackMode(services.config.slack);
  if (mode === 'off') throw new Error('createSlackDoor: Slack is off');
  const { botToken, signingSecret, appToken, apiUrl, adminUserIds, command } = services.config.slack;
  const logger = services.logger.child({ door: 'slack' });
  const bolt = boltLogger(logger);
  const slackApiUrl = apiUrl ? apiUrl.replace(/\/*$/, '/') : undefined;
  // With METRICS on, every call to Slack (Web API and respond()) is counted on its way out.
  const countedFetch = services.metrics ? countingFetch(services.metrics, slackApiUrl ?? DEFAULT_SLACK_API_URL) : undefined;
  const clientOptions: webApi.WebClientOptions = {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    ...(countedFetch ? { fetch: countedFetch } : {}),
    // A few quick retries for what happens after an answer; 429s are waited out by the client.
    retryConfig: { retries: 3, factor: 2, minTimeout: 250, maxTimeout: 4_000, randomize: true },
    timeout: 10_000,
    logger: bolt,
  };
  const identity = await botIdentity(botToken!, clientOptions, logger);
  // Slack's 3 seconds run from the request's arrival, not from its listener's start: the time is
  // taken as Express first sees the request (or the socket its envelope) and handed to listeners in their context.
  const arrivals = new WeakMap<object, number>();
  if (mode === 'http') {
    web.use(SLACK_EVENTS_PATH, (req, _res, next) => {
      arrivals.set(req, Date.now());
      next();
    });
  }
  const receiver =
    mode === 'http'
      ? new ExpressReceiver({
          signingSecret: signingSecret!,
          app: web,
          endpoints: SLACK_EVENTS_PATH,
          logger: bolt,
          bodyLimit: SLACK_BODY_LIMIT_BYTES,
          customPropertiesExtractor: (req) => ({ [RECEIVED_AT]: arrivals.get(req) ?? Date.now() }),
        })
      : undefined;
  // Socket Mode reconnects through SocketConnection (see there), not the client's own reconnect.
  const socketReceiver = mode === 'socket' ? new SocketModeReceiver({ appToken: appToken!, logger: bolt, autoReconnectEnabled: false, installerOptions: { clientOptions }, customPropertiesExtractor: () => ({ [RECEIVED_AT]: Date.now() }) }) : undefined;
  const socket = socketReceiver ? new SocketConnection(socketReceiver, logger) : undefined;
  // The bot's ids, from auth.test at start or, when Slack was out of reach then, once it answers
  // (teamRetry). Given as Bolt's authorize, since its token option without them asks auth.test
  // again before every request for the life of the process.
  let bot = identity;
  const app = new App({
    authorize: async ({ isEnterpriseInstall }) => ({ isEnterpriseInstall, botToken, botId: bot.botId, botUserId: bot.botUserId }),
    logger: bolt,
    clientOptions,
    receiver: receiver ?? socketReceiver!,
  });

  // users.info for identity: no retries and a time limit, so a slow or limited Slack costs the asker
  // a "try again", never Slack's 3-second deadline.
  const profiles = new webApi.WebClient(botToken, { ...(slackApiUrl ? { slackApiUrl } : {}), ...(countedFetch ? { fetch: countedFetch } : {}), retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: PROFILE_TIMEOUT_MS, logger: bolt });
  let installedTeam = identity.teamId;
  const background = new Background();
  const listImports = new SlackListImports({ invites: services.invites, background, clock: services.clock, logger, command }, new webApi.WebClient(botToken, clientOptions), botToken!, slackFileOrigins(slackApiUrl));
  const deps: SlackDeps = {
    db: services.db,
    invites: services.invites,
    members: services.members,
    clock: services.clock,
    logger,
    identities: new SlackIdentities({
      members: services.members,
      clock: services.clock,
      logger,
      bootstrapAdmins: adminUserIds,
      profile: (id) => readProfile(profiles, id),
      installedTeam: () => installedTeam,
    }),
    dedupe: new SlackDedupe(services.db, services.clock),
    background,
    command,
    inviteTtlMs: services.config.inviteTtlMs,
    drafts: new InviteDrafts(services.db, services.clock),
    listImports,
    triggers: new webApi.WebClient(botToken, { ...clientOptions, retryConfig: { retries: 2, factor: 2, minTimeout: 100, maxTimeout: 400, maxRetryTime: TRIGGER_LIFE_MS - 1_000 }, rejectRateLimitedCalls: true, timeout: TRIGGER_LIFE_MS }),
  };
  // An import left unfinished by a restart (or by another instance that stopped) is taken over.
  const stalledImports = new Every('list imports', 15_000, () => listImports.resumeStalled(), logger);
  // Slack was out of reach at start: learn the workspace as soon as it answers.
  const teamRetry = installedTeam
    ? undefined
    : setInterval(() => {
        void botIdentity(botToken!, clientOptions, logger).then(
          (found) => {
            installedTeam ??= found.teamId;
            if (!installedTeam) return;
            bot = found;
            clearInterval(teamRetry);
          },
          (error: unknown) => {
            // Slack answered at last, and refuses the token (or it is an org-wide installation's):
            // asking again changes nothing; only the operator can.
            if (!(error instanceof ConfigError)) return;
            clearInterval(teamRetry);
            logger.error({ err: error }, `${error.message}; Slack requests are refused until Doorman restarts with another token`);
          },
        );
      }, TEAM_RETRY_MS).unref();
  if (services.metrics) app.use(slackRequestTiming(services.metrics));
  registerListeners(app, deps);
  app.error(async (error) => {
    logger.error({ err: error }, 'Slack listener failed');
  });

  // Notices leave 429s and retries to the outbox, so nothing waits in memory.
  const notices = noticeClient(botToken!, slackApiUrl, bolt, countedFetch);
  // One pace per channel for everything the outbox posts there.
  const pacer = new ChannelPacer(services.clock);
  const auditChannel = services.config.auditChannel;
  const warnChannel = channelWarner(logger, services.clock);
  // One hold for all the outbox posts while Slack refuses the app's token.
  const hold = new SlackAppHold(services.clock, logger);
  return {
    mode,
    app,
    notices: slackNoticeHandler(deps, notices, pacer, hold, {
      absent: {
        deactivated: new DeactivatedInSlack(async (user) => (await readProfile(profiles, user)).deactivated === true, services.clock),
        bootstrapAdmins: adminUserIds,
      },
      reportChannel: services.config.report?.channel,
    }),
    approvals: approvalMessageHandlers({ ...deps, settings: { channel: services.config.slack.approvalChannel, bootstrapAdmins: adminUserIds } }, notices, pacer, hold),
    postToAuditChannel: auditChannel
      ? async (lines) => {
          try {
            await notices.chat.postMessage({ channel: auditChannel, text: lines.join('\n'), unfurl_links: false, unfurl_media: false });
          } catch (error) {
            const refused = slackRefusal(error);
            if (refused && CHANNEL_OUT_OF_REACH.has(refused)) warnChannel('AUDIT_CHANNEL', auditChannel, refused, 'the audit lines follow once it is mended');
            // A 429 holds the DMs too, and comes back as RetryLater with Slack's wait.
            throwIfRateLimited(error, pacer, auditChannel, `audit:${auditChannel}`);
            throw error;
          }
        }
      : undefined,
    async start() {
      await socket?.start();
      stalledImports.start(1_000);
      logger.info({ mode, bot: identity.botUserId, command }, mode === 'http' ? `Slack is on: HTTP mode at ${SLACK_EVENTS_PATH}, command ${command}` : `Slack is on: Socket Mode, command ${command}`);
    },
    async stop() {
      clearInterval(teamRetry);
      // Together: no take-over starts while the runs under way stop, and those runs (take-overs
      // included) stop at their next step.
      await Promise.all([stalledImports.stop(), background.stop()]);
      await socket?.stop();
    },
  };
}

/**
 * Checks the bot token once at start-up (auth.test). A token Slack refuses stops start-up naming
 * SLACK_BOT_TOKEN; if Slack cannot be reached, Doorman starts anyway and checks again when needed.
 */
async function botIdentity(token: string, options: webApi.WebClientOptions, logger: Services['logger']): Promise<{ botId?: string; botUserId?: string; teamId?: string }> {
  const client = new webApi.WebClient(token, { ...options, retryConfig: { retries: 1, minTimeout: 250, maxTimeout: 1_000 } });
  let result: webApi.AuthTestResponse;
  try {
    result = await client.auth.test();
  } catch (error) {
    const e = error as { code?: string; data?: { error?: string } };
    if (e.code === webApi.ErrorCode.PlatformError) throw new ConfigError('SLACK_BOT_TOKEN', `Slack refused it (${e.data?.error ?? 'unknown error'})`);
    logger.warn({ err: error }, 'Slack could not be reached to check SLACK_BOT_TOKEN; will check again when needed');
    return {};
  }
  // Doorman trusts the people of one workspace; an org-wide installation has none of its own.
  if (result.is_enterprise_install) throw new ConfigError('SLACK_BOT_TOKEN', 'it is an organization-wide installation on Enterprise Grid; install Doorman in the one workspace whose people it serves');
  return { botId: result.bot_id, botUserId: result.user_id, teamId: result.team_id };
}
