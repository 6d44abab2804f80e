import type { Express } from 'express';
import type { Services } from '../app.js';
import { slackMode } from '../config.js';

export interface SlackDoor {
  stop(): Promise<void>;
}

/**
 * Starts the Slack door when credentials are set. Without them Doorman runs without Slack and
 * start-up says so (see app.ts).
 */
export async function startSlack(services: Services, _web: Express): Promise<SlackDoor | undefined> {
  if (slackMode(services.config.slack) === 'off') return undefined;
  throw new Error('The Slack door is not built yet (issue 3); unset SLACK_BOT_TOKEN to run without Slack.');
}
