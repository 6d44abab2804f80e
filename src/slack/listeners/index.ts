import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { SlackDeps } from '../deps.js';
import { baseActionId } from '../values.js';
import { actionRoutes } from './actions/index.js';
import type { ClickArgs } from './actions/surfaces.js';
import { commandRoutes, type CommandArgs } from './commands/index.js';
import { eventRoutes, type EventArgs } from './events/index.js';
import { viewRoutes, type SubmissionArgs } from './views/index.js';

/**
 * The last global middleware: hands each request to its handler (a command by name, a button or
 * select by its action id's base, a submitted modal by callback_id, an event by type). Doorman
 * registers no Bolt listeners: Bolt runs every listener's middleware chain for every request, so
 * with one listener per kind each command also paid for the three chains it did not match (an
 * array copy, a chain and a few promises each). A request nothing matches is left to `ackUnhandled`.
 */
export function dispatch(deps: SlackDeps): Middleware<AnyMiddlewareArgs> {
  const commands = commandRoutes(deps);
  const actions = actionRoutes(deps);
  const views = viewRoutes(deps);
  const events = eventRoutes(deps);
  return async (args) => {
    const body = args.body as { type?: string };
    if ('command' in args) {
      await commands.get(args.command.command)?.(args as CommandArgs);
    } else if ('action' in args) {
      const handler = body.type === 'block_actions' ? actions.get(baseActionId((args.action as { action_id?: string }).action_id ?? '')) : undefined;
      await handler?.(args as unknown as ClickArgs);
    } else if ('view' in args) {
      const handler = body.type === 'view_submission' ? views.get(args.view.callback_id) : undefined;
      await handler?.(args as SubmissionArgs);
    } else if ('event' in args) {
      await events.get(args.event.type)?.(args as EventArgs);
    }
  };
}
