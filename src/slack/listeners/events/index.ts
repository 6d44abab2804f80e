import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../../deps.js';
import { appHomeOpened } from './app-home-opened.js';

export type EventArgs = SlackEventMiddlewareArgs & AllMiddlewareArgs;

/** The Events API events, by type. */
export function eventRoutes(deps: SlackDeps): Map<string, (args: EventArgs) => Promise<void>> {
  return new Map([['app_home_opened', appHomeOpened(deps) as (args: EventArgs) => Promise<void>]]);
}
