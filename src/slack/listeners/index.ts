import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.js';
import * as actions from './actions/index.js';
import * as commands from './commands/index.js';
import * as events from './events/index.js';
import * as shortcuts from './shortcuts/index.js';
import * as unknown from './unknown.js';
import * as views from './views/index.js';

/** Every Slack listener, registered on the Bolt app by surface. */
export function registerListeners(app: App, deps: SlackDeps): void {
  commands.register(app, deps);
  shortcuts.register(app, deps);
  actions.register(app, deps);
  views.register(app, deps);
  events.register(app, deps);
  // Last: whatever none of the above is for.
  unknown.register(app, deps);
}
