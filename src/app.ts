import { recordSecretFingerprint } from './app-secret.js';
import { recordServedWith, slackServed } from './served-with.js';
import { warnAtStart } from './start-warnings.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import { slackMode, type Config } from './config.js';
import { ConfigError } from './shared/errors.js';
import { cannotUseDatabase, createDb, type Db } from './db/index.js';
import { migrate, pendingMigrations } from './db/migrations.js';
import { InvitesService } from './invites/service.js';
import type { Logger } from './logger.js';
import { startSlackJobs, startJobsWithoutSlack, type Jobs } from './jobs/index.js';
import { inviteEmailHandler } from './mail/invite-email.js';
import { fileTransport, smtpTransport, type MailTransport } from './mail/transport.js';
import { MembersService } from './members/service.js';
import { Metrics } from './metrics/metrics.js';
import { outboxBacklog } from './outbox/outbox.js';
import type { DeliveryObserver } from './outbox/handler.js';
import { OutboxWorker, type WorkerOptions } from './outbox/worker.js';
import { queueAcceptedNotice, queueRefusedNotice, queueRenewalRequestNotice } from './notices/queue.js';
import { queueApprovalDecided, queueApprovalRequests } from './notices/approvals.js';
import { MailPace, mailRateText } from './mail/pace.js';
import { toInvitation } from './invites/model.js';
import { systemClock, type Clock } from './shared/clock.js';
import type { SlackDoor } from './slack/app.js';
import { createWebApp, type RateLimits } from './web/server.js';
import { envEndpoints } from './webhooks/endpoints.js';
import { DEFAULT_WEBHOOK_DELIVERY, WEBHOOK_WORKER_OPTIONS, webhookHandler, type WebhookDeliverySettings } from './webhooks/delivery.js';
import { WebhookEvents } from './webhooks/webhook-events.js';

export interface AppOptions {
  clock?: Clock;
  worker?: Partial<WorkerOptions>;
  /** Tests may leave the mail worker off and drive delivery by hand. */
  runWorker?: boolean;
  rateLimits?: Partial<RateLimits>;
  webhookWorker?: Partial<WorkerOptions>;
  webhookDelivery?: Partial<WebhookDeliverySettings>;
  /** How long the list of stored webhook endpoints is remembered (tests: 0). */
  webhookEndpointsTtlMs?: number;
}

/** Everything Doorman is, wired from its configuration. The doors (web, Slack, CLI) share it. */
export interface Services {
  config: Config;
  logger: Logger;
  clock: Clock;
  db: Db;
  members: MembersService;
  invites: InvitesService;
  mail: MailTransport;
  /** Delivers invitation emails. */
  outbox: OutboxWorker;
  /**
   * Delivers Slack notices and approval messages (once Slack is on), apart from the emails: a mail
   * backlog or an SMTP outage never holds up a DM, nor a Slack outage an email.
   */
  slackOutbox: OutboxWorker;
  /** With METRICS on: what GET /metrics shows, fed by the worker, the web server and Slack. */
  metrics?: Metrics;
  /** Where changes queue their webhooks. */
  events: WebhookEvents;
  /** Delivers webhooks, apart from the mail and notices worker (see webhooks/delivery.ts). */
  webhooks: OutboxWorker;
}

export function createServices(config: Config, logger: Logger, options: AppOptions = {}): Services {
  const clock = options.clock ?? systemClock;
  const db = createDb(config.database, { logger });
  const webhookEnv = envEndpoints(config.webhooks);
  const events = new WebhookEvents(webhookEnv, options.webhookEndpointsTtlMs);
  // A worker in this process starts at once on what a change queued.
  const wakeWorkers = () => {
    outbox.wake();
    slackOutbox.wake();
    webhooks.wake();
  };
  const members = new MembersService(db, clock, events, wakeWorkers);
  const slackOn = slackMode(config.slack) !== 'off';
  const approvalSettings = { channel: config.slack.approvalChannel, bootstrapAdmins: config.slack.adminUserIds };
  const invites = new InvitesService(db, clock, {
    appSecret: config.appSecret,
    publicUrl: config.publicUrl,
    inviteTtlMs: config.inviteTtlMs,
    policy: { allowedDomains: config.allowedDomains, dailyLimit: config.inviteDailyLimit, unlimitedSlackUserIds: config.slack.adminUserIds, slackSettingsKnown: slackOn },
    logger,
    members,
    events,
    onQueued: wakeWorkers,
    // With Slack on, the inviter hears of an acceptance (queued with it).
    onAccepted: slackOn ? (trx, now, invitation, member) => queueAcceptedNotice(trx, now, invitation, member.id, config.slack.adminUserIds) : undefined,
    // With Slack on, the holder of an expired link can ask the inviter for a new one.
    onRenewalRequested: slackOn ? (trx, now, invitation, requestId) => queueRenewalRequestNotice(trx, now, invitation, requestId, config.slack.adminUserIds) : undefined,
    // With Slack on, approvers are asked in Slack, and every copy of a request follows its decision.
    onApprovalRequested: slackOn ? (trx, now, invitations) => queueApprovalRequests(trx, now, invitations, approvalSettings) : undefined,
    onApprovalDecided: slackOn ? (trx, now, invitations) => queueApprovalDecided(trx, now, invitations, approvalSettings) : undefined,
  });
  const mail = config.smtpUrl ? smtpTransport(config.smtpUrl, { timeoutMs: config.smtpTimeoutMs }) : fileTransport(path.join(config.dataDir, 'outbox'), logger);
  // Both workers' recorded outcomes are counted for /metrics (when it is on).
  const observe: DeliveryObserver = (kind, outcome) => metrics?.deliveryRecorded(kind, outcome);
  const outbox = new OutboxWorker(
    db,
    clock,
    logger,
    [
      inviteEmailHandler(db, clock, invites.links, mail, {
        mailFrom: config.mailFrom,
        orgName: config.orgName,
        pace: config.mailRate ? new MailPace(db, clock, config.mailRate) : undefined,
        // With Slack on, the inviter hears once that their invitee's mail server refused it.
        onRefused: slackOn ? (trx, invitation, reason) => queueRefusedNotice(trx, clock.now(), toInvitation(invitation, clock.now()), reason, config.slack.adminUserIds) : undefined,
        events,
      }),
    ],
    options.worker,
    observe,
  );
  const slackOutbox = new OutboxWorker(db, clock, logger, [], options.worker, observe);
  const webhooks = new OutboxWorker(
    db,
    clock,
    logger,
    [webhookHandler(db, clock, config.appSecret, webhookEnv, { ...DEFAULT_WEBHOOK_DELIVERY, ...options.webhookDelivery }, logger)],
    { ...WEBHOOK_WORKER_OPTIONS, ...options.webhookWorker },
    observe,
  );
  const metrics = config.metrics
    ? new Metrics({ clock, invitationCounts: () => invites.counts(), outboxBacklog: () => outboxBacklog(db), outboxKinds: () => [...outbox.kinds(), ...slackOutbox.kinds(), ...webhooks.kinds()] })
    : undefined;
  return { config, logger, clock, db, members, invites, mail, outbox, slackOutbox, events, webhooks, metrics };
}

export interface RunningApp {
  services: Services;
  web: Express;
  server: http.Server;
  slack: SlackDoor | undefined;
  url: string;
  stop(): Promise<void>;
}

/**
 * The schema brought up to date. A database that cannot be reached or opened is named by the
 * variable to fix, its cause (unreachable, refused, bad password, no such database) following; a
 * migration that fails otherwise is its own error.
 */
export async function migrateConfigured(db: Db): Promise<string[]> {
  return migrate(db).catch(namingDatabaseUrl);
}

/**
 * For the CLI's commands: the configured database as the service left it, never created nor
 * migrated by a command (only `doorman migrate` and `npm start` change the schema, so a newer CLI
 * never migrates under an older running service, and a mistyped DATABASE_URL or another working
 * directory is not answered from a new empty database).
 */
export async function requireMigrated(db: Db): Promise<void> {
  const pending = await pendingMigrations(db).catch(namingDatabaseUrl);
  if (!pending) throw new ConfigError('DATABASE_URL', 'this database holds no Doorman schema (no migrations recorded); check DATABASE_URL, or run "doorman migrate" (npm start does it too) to set it up');
  if (pending.length) throw new Error(`the database is ${pending.length} migration(s) behind this Doorman (${pending[0]}${pending.length > 1 ? ', …' : ''}); run "doorman migrate" (npm start does it too) once no older instance is running`);
}

function namingDatabaseUrl(error: Error & { code?: string }): never {
  if (!cannotUseDatabase(error)) throw error;
  throw new ConfigError('DATABASE_URL', `cannot use the database: ${error.message.replace(/\s+/g, ' ')}`);
}


/** `npm start`: migrate, serve HTTP, run the workers; `stop()` shuts down in order. */
export async function startApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<RunningApp> {
  const services = createServices(config, logger, options);
  const applied = await migrateConfigured(services.db).catch(async (error: Error) => {
    await services.db.destroy().catch(() => undefined);
    throw error;
  });
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');
  const mode = slackMode(config.slack);
  const web = createWebApp({
    db: services.db,
    logger,
    clock: services.clock,
    invites: services.invites,
    members: services.members,
    appSecret: config.appSecret,
    publicUrl: config.publicUrl,
    orgName: config.orgName,
    signInUrl: config.signInUrl,
    rateLimits: options.rateLimits,
    trustProxy: config.trustProxy,
    metrics: services.metrics && config.metrics ? { metrics: services.metrics, access: config.metrics } : undefined,
  });
  // Slack mounts POST /slack/events onto the same server (HTTP mode) or opens a socket (Socket Mode).
  // Loaded only when Slack is on: Bolt is the heaviest part, and the CLI never needs it.
  const slack: SlackDoor | undefined = mode === 'off' ? undefined : await (await import('./slack/app.js')).createSlackDoor(services, web.app);
  let jobs: Jobs | undefined;
  if (slack) {
    services.slackOutbox.register(slack.notices);
    for (const handler of slack.approvals) services.slackOutbox.register(handler);
    jobs = startSlackJobs(services, slack.postToAuditChannel);
    await slack.start();
  } else {
    jobs = startJobsWithoutSlack(services);
  }
  const server = http.createServer(web.app);
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, () => {
      // Start-up's listener goes; a later server error (out of file descriptors, say) is logged.
      server.off('error', reject);
      server.on('error', (error) => logger.error({ err: error }, 'HTTP server error'));
      resolve();
    });
  }).catch(async (error: unknown) => {
    // Its port taken: what started winds down, so nothing of this start goes on in the process.
    await Promise.all([jobs?.stop(), slack?.stop()]).catch(() => undefined);
    services.mail.close();
    web.close();
    await services.db.destroy().catch(() => undefined);
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  // What the CLI checks against is this service's only once it serves: a start that fails (its port
  // taken, Slack refusing its token) leaves the running service's settings in place.
  const secret = await recordSecretFingerprint(services.db, config.appSecret, services.clock.now());
  const served = await recordServedWith(services.db, { publicUrl: config.publicUrl, mail: services.mail.kind, mailRate: mailRateText(config.mailRate), slack: slackServed(config.slack) }, services.clock.now());
  warnAtStart(logger, config, { mail: services.mail.kind, served, secret });

  if (options.runWorker !== false) {
    services.outbox.start();
    if (slack) services.slackOutbox.start();
    services.webhooks.start();
  }

  if (!slack) logger.info('Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode) or SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) to turn it on');
  logger.info(
    { port, publicUrl: config.publicUrl, database: config.database.client, mail: services.mail.kind, slack: mode, metrics: config.metrics ? (config.metrics.token ? 'token' : 'on') : 'off' },
    `Doorman is listening on ${config.publicUrl}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    services,
    web: web.app,
    server,
    slack,
    url,
    stop() {
      stopping ??= (async () => {
        // Stop taking requests, let deliveries under way finish (others stay queued), then close.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // All at once: the workers must not go on claiming batches while a job or an import winds down
        // (what those queue meanwhile stays in the outbox for the next start).
        await Promise.all([jobs?.stop(), slack?.stop(), services.outbox.stop(), services.slackOutbox.stop(), services.webhooks.stop()]);
        services.mail.close();
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        server.closeAllConnections();
        web.close();
        await services.db.destroy();
      })();
      return stopping;
    },
  };
}
