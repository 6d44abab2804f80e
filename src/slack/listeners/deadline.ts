import type { Context } from '@slack/bolt';

/**
 * Slack waits 3 seconds for an acknowledgement. Work that should be in it (a list stored before
 * the answer) gets until this long after the request reached the process — a busy process may take
 * a while from the request to the listener, and that wait counts against Slack's 3 seconds too;
 * past it the request is acknowledged without the work, and what was done is told afterwards.
 */
export const ACK_DEADLINE_MS = 1_500;

/** The context key under which the receiver hands the request's arrival time to listeners. */
export const RECEIVED_AT = 'receivedAt';

/** When the request reached this process (the receiver's custom property); the listener's start where that is unknown. */
export function receivedAt(context: Context): number {
  const at: unknown = context[RECEIVED_AT];
  return typeof at === 'number' ? at : Date.now();
}

/** What `withinAckDeadline` answers when the deadline came first (the work goes on). */
export const LATE = Symbol('late');

/** Resolves with `work`'s result, or with LATE at ACK_DEADLINE_MS after the request arrived at `arrived`. */
export function withinAckDeadline<T>(work: Promise<T>, arrived: number): Promise<T | typeof LATE> {
  return before(work, ACK_DEADLINE_MS - (Date.now() - arrived), LATE);
}

/** Resolves with `work`'s result, or with `late` once `ms` have passed (the work goes on). */
export async function before<T, L>(work: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<L>((resolve) => (timer = setTimeout(() => resolve(late), Math.max(0, ms))));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
