import type { SocketModeReceiver } from '@slack/bolt';
import type { Logger } from '../logger.js';
import { ConfigError } from '../shared/errors.js';

/** What apps.connections.open answers for an app-level token Slack will never accept (the socket-mode client's own list). */
const REFUSED_TOKEN = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'user_removed_from_team', 'team_disabled', 'not_allowed_token_type']);
const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 60_000;

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
  private timer: NodeJS.Timeout | undefined;
  private warnedRefused = false;

  constructor(
    private readonly receiver: SocketModeReceiver,
    private readonly logger: Logger,
  ) {
    receiver.client.on('disconnected', () => {
      if (this.stopped || this.connecting) return;
      this.logger.info('the Socket Mode connection closed; connecting again');
      this.schedule(0);
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
      this.failures = 0;
      this.warnedRefused = false;
      return undefined;
    } catch (error) {
      if (this.stopped) return undefined;
      const refused = (error as { data?: { error?: string } }).data?.error;
      if (refused && REFUSED_TOKEN.has(refused)) {
        if (first) return refused;
        // Refused while running (the token was revoked): tried again slowly, said once.
        if (!this.warnedRefused) this.logger.error({ refused }, `SLACK_APP_TOKEN: Slack refused it (${refused}); Slack requests wait until it is accepted again`);
        this.warnedRefused = true;
        this.schedule(LONGEST_RETRY_MS);
        return refused;
      }
      this.failures += 1;
      const wait = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.failures - 1));
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
    this.timer = setTimeout(() => void this.connect(), ms);
    this.timer.unref();
  }
}
