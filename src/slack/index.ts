import { App, ExpressReceiver, webApi } from '@slack/bolt';
import type { Express } from 'express';
import type { Services } from '../app.js';
import { ConfigError, slackMode } from '../config.js';
import { ReadCoalescer } from '../db/coalesce.js';
import { httpResponseOf } from './answer.js';
import { Background } from './background.js';
import { SlackDedupe } from './dedupe.js';
import type { SlackDeps } from './deps.js';
import { dispatch } from './listeners/index.js';
import { startSlackJobs } from '../jobs/index.js';
import { boltLogger } from './logger.js';
import { ChannelPacer, noticeClient, slackNoticeHandler } from './notices.js';
import { SlackPermissions } from './permissions.js';
import { ackUnhandled } from './unhandled.js';
import { SHARED_RENDER_MS } from './render.js';

export interface SlackDoor {
  mode: 'http' | 'socket';
  app: App;
  stop(): Promise<void>;
}

/** The endpoint Slack posts commands, interactivity and events to in HTTP mode. */
export const SLACK_EVENTS_PATH = '/slack/events';

/**
 * The largest request body Slack's endpoint reads (Bolt's default is 4 MB). Slack's own payloads
 * stay far below: a modal of 100 blocks with every input full is a few hundred kB. Anything larger
 * is answered 413 from its Content-Length, or as soon as a streamed body passes the limit.
 */
export const SLACK_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Starts the Slack door when credentials are set: HTTP mode mounts POST /slack/events on the one
 * web server (Bolt verifies each request's signature); with SLACK_APP_TOKEN, Socket Mode instead.
 * Without credentials Doorman runs without Slack and start-up says so (see app.ts).
 */
export async function startSlack(services: Services, web: Express): Promise<SlackDoor | undefined> {
  const mode = slackMode(services.config.slack);
  if (mode === 'off') return undefined;
  const { botToken, signingSecret, appToken, apiUrl, adminUserIds } = services.config.slack;
  const logger = services.logger.child({ door: 'slack' });
  const bolt = boltLogger(logger);
  const clientOptions: webApi.WebClientOptions = {
    // The Web API client joins method names onto this base, so it must end with a slash.
    ...(apiUrl ? { slackApiUrl: apiUrl.replace(/\/*$/, '/') } : {}),
    // A few quick retries; Slack's 429s are waited out (Retry-After) by the client itself.
    retryConfig: { retries: 3, factor: 2, minTimeout: 250, maxTimeout: 4_000, randomize: true },
    timeout: 10_000,
    logger: bolt,
  };
  const identity = await botIdentity(botToken!, clientOptions, logger);
  const receiver = mode === 'http' ? new ExpressReceiver({ signingSecret: signingSecret!, app: web, endpoints: SLACK_EVENTS_PATH, logger: bolt, processBeforeResponse: false, bodyLimit: SLACK_BODY_LIMIT_BYTES, customPropertiesExtractor: httpResponseOf }) : undefined;
  const app = new App({
    token: botToken,
    ...identity,
    tokenVerificationEnabled: identity.botId !== undefined,
    logger: bolt,
    clientOptions,
    // No conversation store: Doorman keeps no per-channel state, and Bolt's in-memory one builds an
    // Error (with its stack) for every request in a channel it has not seen.
    convoStore: false,
    // Bolt's ignoreSelf drops the bot's own message events; Doorman listens to none (only
    // app_home_opened, which a person opens), so it would only be one more step for every request.
    ignoreSelf: false,
    ...(receiver ? { receiver } : { socketMode: true, appToken }),
  });

  const background = new Background();
  const deps: SlackDeps = {
    db: services.db,
    invites: services.invites,
    members: services.members,
    clock: services.clock,
    logger,
    permissions: new SlackPermissions(services.members, adminUserIds, services.clock, logger),
    background,
    renders: new ReadCoalescer(services.db, { reuseForMs: SHARED_RENDER_MS, refreshAfterMs: SHARED_RENDER_MS / 2, now: () => services.clock.now() }),
  };
  app.use(ackUnhandled());
  app.use(new SlackDedupe(services.db, services.clock).middleware());
  app.use(dispatch(deps));
  app.error(async (error) => {
    logger.error({ err: error }, 'Slack listener failed');
  });

  // Notices (expiry, reminders, acceptance) go out as DMs through the outbox, from a client that
  // leaves 429s and retries to the outbox so nothing waits in memory.
  const noticeWebClient = noticeClient(botToken!, apiUrl);
  services.outbox.register(slackNoticeHandler(deps, noticeWebClient, new ChannelPacer(services.clock)));
  const auditChannel = services.config.auditChannel;
  const jobs = startSlackJobs(
    services,
    auditChannel
      ? async (lines) => {
          await noticeWebClient.chat.postMessage({ channel: auditChannel, text: lines.join('\n'), unfurl_links: false, unfurl_media: false });
        }
      : undefined,
  );

  if (mode === 'socket') await app.start();
  logger.info({ mode, bot: identity.botUserId }, mode === 'http' ? `Slack is on: HTTP mode at ${SLACK_EVENTS_PATH}` : 'Slack is on: Socket Mode');
  return {
    mode,
    app,
    async stop() {
      await jobs.stop();
      await background.stop();
      if (mode === 'socket') await app.stop();
    },
  };
}

/**
 * Checks the bot token once at start-up (auth.test). A token Slack refuses stops start-up naming
 * SLACK_BOT_TOKEN; if Slack cannot be reached, Doorman starts anyway and checks on the first request.
 */
async function botIdentity(token: string, options: webApi.WebClientOptions, logger: Services['logger']): Promise<{ botId?: string; botUserId?: string }> {
  const client = new webApi.WebClient(token, { ...options, retryConfig: { retries: 1, minTimeout: 250, maxTimeout: 1_000 } });
  try {
    const result = await client.auth.test();
    return { botId: result.bot_id, botUserId: result.user_id };
  } catch (error) {
    const e = error as { code?: string; data?: { error?: string } };
    if (e.code === webApi.ErrorCode.PlatformError) throw new ConfigError('SLACK_BOT_TOKEN', `Slack refused it (${e.data?.error ?? 'unknown error'})`);
    logger.warn({ err: error }, 'Slack could not be reached to check SLACK_BOT_TOKEN; will check on the first request');
    return {};
  }
}
