import type { Logger } from 'pino';

/**
 * Runs a job every `intervalMs`, never two runs of it at once, and waits for the run under way
 * on stop. Errors are logged and the next run comes as usual. A job that loops (a backlog) is
 * handed a signal that stop aborts, so it ends after the step under way.
 */
export class Every {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  /** Aborted while the job is not running: before start, and from stop on. */
  private stopping = stoppedController();

  constructor(private readonly name: string, private readonly intervalMs: number, private readonly job: (stopping: AbortSignal) => Promise<unknown>, private readonly logger: Logger) {}

  start(firstDelayMs = 0): void {
    this.stopping = new AbortController();
    this.schedule(firstDelayMs);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    // A monotonic clock: the wall clock stepped back during a run (NTP) would hold the next run back by the step.
    const started = performance.now();
    this.running = this.job(this.stopping.signal);
    try {
      await this.running;
    } catch (error) {
      this.logger.error({ err: error, job: this.name }, 'scheduled job failed; it runs again at the next interval');
    } finally {
      this.running = undefined;
    }
    if (!this.stopping.signal.aborted) this.schedule(Math.max(0, this.intervalMs - (performance.now() - started)));
  }
}

function stoppedController(): AbortController {
  const controller = new AbortController();
  controller.abort();
  return controller;
}
