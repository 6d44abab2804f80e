import { ErrorCode, type AnyMiddlewareArgs, type Middleware } from '@slack/bolt';
import { httpResponse } from './answer.js';

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
      // Over HTTP an ack is the response itself (Bolt writes it at once): already sent, nothing to do.
      // Without one to look at (Socket Mode), asking Bolt to ack again is how to find out.
      const acked = httpResponse(args.context)?.headersSent ?? false;
      if (!acked && 'ack' in args && typeof args.ack === 'function') {
        try {
          await (args.ack as () => Promise<void>)();
          args.logger.debug('acknowledged a Slack request no listener handled');
        } catch (error) {
          // Acknowledged already: nothing to do.
          if ((error as { code?: string }).code !== ErrorCode.ReceiverMultipleAckError) throw error;
        }
      }
    }
  };
}
