/**
 * Slack waits 3 seconds for an acknowledgement. Work that should be in it (a list stored before
 * the answer) gets until this long after its listener started (a busy process may take a while
 * from the request to the listener); past it the request is acknowledged without it, and what was
 * done is told afterwards.
 */
export const ACK_DEADLINE_MS = 2_000;

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
