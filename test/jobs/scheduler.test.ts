import { describe, expect, it, vi } from 'vitest';
import { Every } from '../../src/jobs/scheduler.js';
import { captureLogger } from '../support/slack-world.js';
import { eventually } from '../support/wait.js';

describe('Every', () => {
  it('runs the job every interval, never two runs at once, and logs a failure without stopping', async () => {
    const log = captureLogger('error');
    let runs = 0;
    let atOnce = 0;
    let most = 0;
    const every = new Every('test job', 20, async () => {
      runs++;
      most = Math.max(most, ++atOnce);
      await new Promise((resolve) => setTimeout(resolve, 30));
      atOnce--;
      if (runs === 2) throw new Error('second run fails');
    }, log.logger);
    every.start();
    await eventually(() => runs >= 4, 5_000, 'four runs');
    await every.stop();
    expect(most).toBe(1);
    expect(log.errors().map((e) => e.job)).toEqual(['test job']);
  });

  it('stop aborts the signal of the run under way and waits for that run to end', async () => {
    let ended = false;
    let started = false;
    const every = new Every('looping job', 1_000, async (stopping) => {
      started = true;
      while (!stopping.aborted) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      ended = true;
    }, captureLogger('silent').logger);
    every.start();
    await eventually(() => started, 5_000, 'the run');
    await every.stop();
    expect(ended).toBe(true);
  });

  it('a wall clock stepped back during a run does not hold the next run back', async () => {
    const times: number[] = [];
    const now = Date.now.bind(Date);
    let stepped = false;
    const every = new Every('stepped job', 100, async () => {
      times.push(performance.now());
      // NTP sets the wall clock back 5 s while the first run is under way.
      if (!stepped) {
        stepped = true;
        vi.spyOn(Date, 'now').mockImplementation(() => now() - 5_000);
      }
    }, captureLogger('silent').logger);
    try {
      every.start();
      await eventually(() => times.length >= 2, 3_000, 'the second run');
    } finally {
      await every.stop();
      vi.restoreAllMocks();
    }
    expect(times[1]! - times[0]!).toBeLessThan(1_000);
  });
});
