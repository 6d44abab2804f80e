import type { Context, RespondArguments } from '@slack/bolt';
import { LATE, receivedAt, withinAckDeadline } from '../deadline.js';

/**
 * Answers a command in its acknowledgement when the answer is ready within the ack deadline, counted
 * from the request's arrival (one round trip, shown at once); otherwise acknowledges empty, well
 * inside Slack's 3 seconds, and posts the answer to the response_url when it is ready.
 */
export async function answerSoon(
  context: Context,
  ack: (answer?: RespondArguments) => Promise<void>,
  respond: (answer: RespondArguments) => Promise<unknown>,
  answer: () => Promise<RespondArguments>,
): Promise<void> {
  const work = answer();
  let ready: RespondArguments | typeof LATE;
  try {
    ready = await withinAckDeadline(work, receivedAt(context));
  } catch (error) {
    // Acknowledged all the same, so Slack shows no timeout; the failure goes to app.error.
    await ack();
    throw error;
  }
  if (ready !== LATE) return ack(ready);
  await ack();
  await respond(await work);
}

export function ephemeral(text: string): RespondArguments {
  return { response_type: 'ephemeral', text };
}
