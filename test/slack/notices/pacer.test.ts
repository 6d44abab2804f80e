import { describe, expect, it } from 'vitest';
import { ChannelPacer } from '../../../src/slack/notices/pacer.js';
import { ManualClock } from '../../support/db.js';

/** The channel pacer: about one message a second per channel, slots kept, 429 holds. */

describe('ChannelPacer', () => {
  it('lets one message a second through per channel, and channels do not wait for each other', () => {
    const clock = new ManualClock();
    // U2's second message comes 1 s after its first.
    expectWaits(clock, new ChannelPacer(clock), [['U1', 1, 0], ['U2', 2, 0], 400, ['U1', 3, 600], 599, ['U1', 3, 1], 1, ['U1', 3, 0], ['U2', 4, 0]]);
  });

  /** Each step either moves the clock on (ms) or asks for a slot: [channel, key, the wait expected]. */
  const expectWaits = (clock: ManualClock, pacer: ChannelPacer, steps: Array<number | [string, number, number]>) => {
    for (const step of steps) {
      if (typeof step === 'number') clock.advance(step);
      else expect(pacer.reserve(step[0], step[1]), `${step[0]} #${step[1]} at ${clock.now()}`).toBe(step[2]);
    }
  };

  /** Four messages to one recipient at once: the first goes, the others get slots 1, 2 and 3 s out. */
  const fourAtOnce = () => {
    const clock = new ManualClock();
    const pacer = new ChannelPacer(clock);
    expect([1, 2, 3, 4].map((id) => pacer.reserve('U1', id))).toEqual([0, 1_000, 2_000, 3_000]);
    return { clock, pacer };
  };

  it('gives each message told to wait a slot of its own, kept when it asks again: a backlog goes out one a second, each tried twice', () => {
    const { clock, pacer } = fourAtOnce();
    // Asking again early does not push a slot further out, nor take another's.
    clock.advance(500);
    expect(pacer.reserve('U1', 3)).toBe(1_500);
    expect(pacer.reserve('U1', 2)).toBe(500);
    clock.advance(500);
    expect(pacer.reserve('U1', 2)).toBe(0);
    expect(pacer.reserve('U1', 2)).toBe(1_000 + 2_000); // sent: a new message under that key queues anew
    // A newcomer lines up behind every slot handed out; another channel does not wait.
    expect(pacer.reserve('U1', 5)).toBe(4_000);
    expect(pacer.reserve('U2', 6)).toBe(0);
    clock.advance(1_000);
    expect(pacer.reserve('U1', 3)).toBe(0);
  });

  it('holds a message back late to a gap after the last post to its channel, and late messages never go out together', () => {
    const { clock, pacer } = fourAtOnce();
    // All back long after their slots (a busy worker): one goes, the others line up a second apart.
    clock.advance(10_000);
    expect([2, 3, 4, 5].map((id) => pacer.reserve('U1', id))).toEqual([0, 1_000, 2_000, 3_000]);
    clock.advance(1_000);
    // 3 goes on time; 4 half a second late, and 5's slot then comes only 500 ms after that post, so
    // there it takes a new one.
    expectWaits(clock, pacer, [['U1', 3, 0], ['U1', 4, 1_000], 1_500, ['U1', 4, 0], ['U1', 5, 500], 500, ['U1', 5, 1_000], 1_000, ['U1', 5, 0]]);
  });

  it('after a 429 holds every channel until its Retry-After has passed; the backlog keeps its order and gaps behind it', () => {
    const { clock, pacer } = fourAtOnce();
    // 1 went out and met a 429 saying "in 2.5 s" (a shorter one after it does not cut the hold).
    pacer.rateLimited('U1', 1, 2_500);
    pacer.rateLimited('U1', 1, 1_000);
    expect(pacer.holding()).toBe(true);
    // Held: a free channel waits too; the backlog's slots (1, 2 and 3 s) moved back by the hold, and a
    // newcomer lines up behind them.
    expectWaits(clock, pacer, [['U2', 9, 2_500], 1_000, ['U1', 2, 2_500], ['U1', 4, 4_500], ['U1', 7, 5_500], 1_500]);
    expect(pacer.holding()).toBe(false);
    // Over: 1 goes first, the free channel too, then the backlog one a second, each at its slot.
    expectWaits(clock, pacer, [['U1', 1, 0], ['U2', 9, 0], ['U1', 2, 1_000], 1_000, ['U1', 2, 0], ['U1', 3, 1_000], 1_000, ['U1', 3, 0], 1_000, ['U1', 4, 0], 1_000, ['U1', 7, 0]]);
  });

  it('takes its gap from the caller', () => {
    const clock = new ManualClock();
    const pacer = new ChannelPacer(clock, 250);
    expect(pacer.reserve('C1', 1)).toBe(0);
    clock.advance(100);
    expect(pacer.reserve('C1', 2)).toBe(150);
  });
});
