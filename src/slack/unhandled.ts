import { ErrorCode, type AnyMiddlewareArgs, type Middleware } from '@slack/bolt';

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
      if ('ack' in args && typeof args.ack === 'function') {
        try {
          await (args.ack as () => Promise<void>)();
          args.logger.debug('acknowledged a Slack request no listener handled');
        } catch (error) {
          // Acknowledged already (the usual case): nothing to do.
          if ((error as { code?: string }).code !== ErrorCode.ReceiverMultipleAckError) throw error;
        }
      }
    }
  };
}
