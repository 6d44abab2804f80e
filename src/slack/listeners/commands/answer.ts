import type { Context, RespondArguments } from '@slack/bolt';
import type { Logger } from '../../../logger.js';
import { failureText } from '../../errors.js';
import { LATE, receivedAt, withinAckDeadline } from '../deadline.js';

/**
 * Answers a command in its acknowledgement when the answer is ready within the ack deadline, counted
 * from the request's arrival (one round trip, shown at once); otherwise acknowledges empty, well
 * inside Slack's 3 seconds, and posts the answer to the response_url when it is ready. An answer
 * that fails (the database out of reach) is said so: an empty acknowledgement shows nothing at all.
 */
export async function answerSoon(
  logger: Logger,
  context: Context,
  ack: (answer?: RespondArguments) => Promise<void>,
  respond: (answer: RespondArguments) => Promise<unknown>,
  answer: () => Promise<RespondArguments>,
): Promise<void> {
  const work = answer().catch((error: unknown) => ephemeral(failureText(error, logger, 'a command could not be answered')));
  const ready = await withinAckDeadline(work, receivedAt(context));
  if (ready !== LATE) return ack(ready);
  await ack();
  await respond(await work);
}

export function ephemeral(text: string): RespondArguments {
  return { response_type: 'ephemeral', text };
}
