/**
 * Work that outlives a Slack request (progress updates of a big invite batch). Tracked so that
 * shutdown stops it instead of leaving it running against a closed database.
 */
export class Background {
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private readonly wakers = new Set<() => void>();

  get isStopped(): boolean {
    return this.stopped;
  }

  run(work: () => Promise<void>, onError: (error: unknown) => void): void {
    if (this.stopped) return;
    const task = work().catch(onError);
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  /** Waits `ms`, or less when stopping; answers false once stopping. */
  async sleep(ms: number): Promise<boolean> {
    if (this.stopped) return false;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
    return !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
    await Promise.allSettled([...this.running]);
  }
}
