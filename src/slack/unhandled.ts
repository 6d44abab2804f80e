import { ErrorCode, type AnyMiddlewareArgs, type Context, type Middleware } from '@slack/bolt';

const ACKED = Symbol('doorman.acked');

/**
 * The same listener arguments with an `ack` that notes on the request's context that it was called,
 * so `ackUnhandled` knows without calling `ack` a second time (which Bolt answers by throwing).
 */
export function noteAck<A extends { ack?: unknown; context: Context }>(args: A): A {
  const ack = args.ack as ((...body: unknown[]) => Promise<void>) | undefined;
  if (typeof ack !== 'function') return args;
  const context = args.context as Context & { [ACKED]?: boolean };
  return {
    ...args,
    ack: (...body: unknown[]) => {
      context[ACKED] = true;
      return ack(...body);
    },
  };
}

/**
 * Global Bolt middleware: a request no listener acknowledged (an unknown action id or callback_id,
 * a button from an older version of a message, a listener that failed before its ack) is
 * acknowledged once the listeners are done, instead of leaving Slack waiting 3 seconds for Bolt's
 * "unhandled request" 404 — which Slack shows the user as an error.
 */
export function ackUnhandled(): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    try {
      await args.next();
    } finally {
      const context = args.context as Context & { [ACKED]?: boolean };
      if (!context[ACKED] && 'ack' in args && typeof args.ack === 'function') {
        try {
          await (args.ack as () => Promise<void>)();
          args.logger.debug('acknowledged a Slack request no listener handled');
        } catch (error) {
          // Acknowledged already, by a path that did not note it: nothing to do.
          if ((error as { code?: string }).code !== ErrorCode.ReceiverMultipleAckError) throw error;
        }
      }
    }
  };
}
