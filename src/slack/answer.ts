import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AckFn, Context, RespondArguments, RespondFn } from '@slack/bolt';
import type { Block } from './blocks/limits.js';

/**
 * How long a command may spend building its answer before it acknowledges without one. Slack
 * waits 3 seconds for the acknowledgement; this leaves room for the network both ways.
 */
export const ANSWER_IN_ACK_MS = 1_500;

/**
 * An answer serialized once, however many acks carry it: a table shared by concurrent `/invites`
 * (see SHARED_RENDER_MS) is turned into JSON once, not once per request.
 */
export class JsonAnswer {
  private text: string | undefined;

  constructor(readonly body: RespondArguments) {}

  get json(): string {
    return (this.text ??= JSON.stringify(this.body));
  }
}

export type Answer = RespondArguments | JsonAnswer;

const sharedAnswers = new WeakMap<object, JsonAnswer>();

/** The ephemeral answer showing a rendered surface that is shared (never changed), serialized once per render. */
export function sharedEphemeral(rendered: { text: string; blocks: Block[] }): JsonAnswer {
  let answer = sharedAnswers.get(rendered);
  if (!answer) sharedAnswers.set(rendered, (answer = new JsonAnswer({ response_type: 'ephemeral', ...rendered } as RespondArguments)));
  return answer;
}

const HTTP_RESPONSE = Symbol('doorman.httpResponse');

/**
 * For ExpressReceiver's `customPropertiesExtractor`: puts the request's HTTP response on the
 * listener's context, so an ack can send JSON that is already serialized (see `answerAck`), and
 * whether the request was acknowledged can be read off it (see `ackUnhandled`).
 */
export function httpResponseOf(req: IncomingMessage & { res?: ServerResponse }): Record<string, unknown> {
  return req.res ? ({ [HTTP_RESPONSE]: req.res } as Record<string, unknown>) : {};
}

/** The request's HTTP response (HTTP mode), or undefined (Socket Mode). */
export function httpResponse(context: Context): ServerResponse | undefined {
  return (context as { [HTTP_RESPONSE]?: ServerResponse })[HTTP_RESPONSE];
}

/**
 * An ack that takes an `Answer`. Over HTTP a `JsonAnswer` goes out as its serialized text, marked
 * `application/json` (Bolt sends a string ack as is, and Slack reads a body without that type as
 * plain text); in Socket Mode, or when no response is at hand, the object itself.
 */
export function answerAck(ack: AckFn<string | RespondArguments>, context: Context): (answer?: Answer) => Promise<void> {
  const res = httpResponse(context);
  return async (answer) => {
    if (!(answer instanceof JsonAnswer)) return ack(answer);
    if (!res || res.headersSent) return ack(answer.body);
    res.setHeader('content-type', 'application/json; charset=utf-8');
    return ack(answer.json);
  };
}

/**
 * Answers a read-only slash command in its acknowledgement: one HTTP round trip, the reply is
 * shown the moment Slack gets it, and nothing is left running after the request. When the answer
 * is not ready within `deadlineMs` (a slow database, a cold `users.info`), it acknowledges empty
 * at once and posts the answer to response_url when it is ready, as Slack allows for 30 minutes.
 */
export async function answerInAck(
  ack: (answer?: Answer) => Promise<void>,
  respond: RespondFn,
  answer: () => Promise<Answer>,
  deadlineMs = ANSWER_IN_ACK_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), deadlineMs);
  });
  const work = answer();
  let ready: Answer | 'late';
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
  const answered = await work;
  await respond(answered instanceof JsonAnswer ? answered.body : answered);
}

/** An answer only the person who asked sees (the default for a command's answer). */
export function ephemeral(text: string): RespondArguments {
  return { response_type: 'ephemeral', text };
}
