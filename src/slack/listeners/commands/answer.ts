import type { RespondArguments } from '@slack/bolt';

/** How long a command may take to build its answer before it acknowledges without one. */
export const ANSWER_IN_ACK_MS = 1_500;

/**
 * Answers a command in its acknowledgement when the answer is ready in time (one round trip, shown
 * at once); otherwise acknowledges empty, well inside Slack's 3 seconds, and posts the answer to
 * the response_url when it is ready.
 */
export async function answerSoon(
  ack: (answer?: RespondArguments) => Promise<void>,
  respond: (answer: RespondArguments) => Promise<unknown>,
  answer: () => Promise<RespondArguments>,
  deadlineMs = ANSWER_IN_ACK_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
  const work = answer();
  try {
    const ready = await Promise.race([work, late]);
    if (ready !== 'late') return await ack(ready);
  } catch (error) {
    // Acknowledged all the same, so Slack shows no timeout; the failure goes to app.error.
    await ack();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  await ack();
  await respond(await work);
}

export function ephemeral(text: string): RespondArguments {
  return { response_type: 'ephemeral', text };
}
