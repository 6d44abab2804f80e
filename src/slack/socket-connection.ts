import type { SocketModeReceiver } from '@slack/bolt';
import type { Logger } from '../logger.js';
import { backoffMs } from '../outbox/retry.js';
import { ConfigError } from '../shared/errors.js';

/** What apps.connections.open answers for an app-level token Slack will never accept (the socket-mode client's own list). */
const REFUSED_TOKEN = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'user_removed_from_team', 'team_disabled', 'not_allowed_token_type']);
const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 60_000;
/** A connection that closes sooner than this after opening counts as a failed one, so such drops are retried with growing waits. */
const STABLE_MS = 10_000;

/**
 * Keeps the Socket Mode connection for as long as Doorman runs. Slack closes connections now and
 * then (a refresh, a restart on its side); the socket-mode client's own reconnect leaves a failed
 * apps.connections.open unhandled, which ends the process, so its receiver is built with
 * `autoReconnectEnabled: false` and each reconnect is made here, waiting longer after each failure.
 */
export class SocketConnection {
  private stopped = false;
  private connecting = false;
  private failures = 0;
  private connectedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private warnedRefused = false;

  constructor(
    private readonly receiver: SocketModeReceiver,
    private readonly logger: Logger,
  ) {
    receiver.client.on('disconnected', () => {
      if (this.stopped || this.connecting) return;
      if (Date.now() - this.connectedAt < STABLE_MS) this.failures += 1;
      else this.failures = 0;
      this.logger.info('the Socket Mode connection closed; connecting again');
      this.schedule(this.failures ? retryWait(this.failures) : 0);
    });
  }

  /**
   * The first connection. An app token Slack refuses stops start-up, naming SLACK_APP_TOKEN; when
   * Slack cannot be reached, Doorman starts anyway and keeps trying.
   */
  async start(): Promise<void> {
    const refused = await this.connect(true);
    if (refused) throw new ConfigError('SLACK_APP_TOKEN', `Slack refused it (${refused})`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.receiver.stop();
  }

  /** One attempt; a failure schedules the next. Answers Slack's refusal of the token, if that was it. */
  private async connect(first = false): Promise<string | undefined> {
    this.connecting = true;
    try {
      await this.receiver.start();
      this.connectedAt = Date.now();
      this.warnedRefused = false;
      // Stopped while this attempt waited for Slack: the connection it opened is closed again.
      if (this.stopped) await this.receiver.stop();
      return undefined;
    } catch (error) {
      if (this.stopped) return undefined;
      // A socket that failed after apps.connections.open answered rejects with no error at all.
      const refused = (error as { data?: { error?: string } } | undefined)?.data?.error;
      if (refused && REFUSED_TOKEN.has(refused)) {
        if (first) return refused;
        // Refused while running (the token was revoked): tried again slowly, said once.
        if (!this.warnedRefused) this.logger.error({ refused }, `SLACK_APP_TOKEN: Slack refused it (${refused}); Slack requests wait until it is accepted again`);
        this.warnedRefused = true;
        this.schedule(LONGEST_RETRY_MS);
        return refused;
      }
      this.failures += 1;
      const wait = retryWait(this.failures);
      this.logger.warn({ err: error, retryInMs: wait }, 'Slack could not be reached for a Socket Mode connection; trying again');
      this.schedule(wait);
      return undefined;
    } finally {
      this.connecting = false;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.connect().catch((error: unknown) => this.logger.error({ err: error }, 'Socket Mode: connecting failed unexpectedly'));
    }, ms);
    this.timer.unref();
  }
}

/** 1 s, 2 s, 4 s… up to a minute (the outbox's backoff, without its jitter: one connection, nothing to spread). */
function retryWait(failures: number): number {
  return backoffMs(failures, { backoffBaseMs: FIRST_RETRY_MS, backoffMaxMs: LONGEST_RETRY_MS }, () => 0.5);
}
