import type { AckFn, RespondArguments, RespondFn } from '@slack/bolt';

/**
 * How long a command may spend building its answer before it acknowledges without one. Slack
 * waits 3 seconds for the acknowledgement; this leaves room for the network both ways.
 */
export const ANSWER_IN_ACK_MS = 1_500;

/**
 * Answers a read-only slash command in its acknowledgement: one HTTP round trip, the reply is
 * shown the moment Slack gets it, and nothing is left running after the request. When the answer
 * is not ready within `deadlineMs` (a slow database, a cold `users.info`), it acknowledges empty
 * at once and posts the answer to response_url when it is ready, as Slack allows for 30 minutes.
 */
export async function answerInAck(
  ack: AckFn<string | RespondArguments>,
  respond: RespondFn,
  answer: () => Promise<RespondArguments>,
  deadlineMs = ANSWER_IN_ACK_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), deadlineMs);
  });
  const work = answer();
  let ready: RespondArguments | 'late';
  try {
    ready = await Promise.race([work, late]);
  } catch (error) {
    // Acknowledged all the same, so Slack does not show a timeout; the failure goes to app.error.
    await ack();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (ready !== 'late') return ack(ready);
  await ack();
  await respond(await work);
}

/** An answer only the person who asked sees (the default for a command's answer). */
export function ephemeral(text: string): RespondArguments {
  return { response_type: 'ephemeral', text };
}
