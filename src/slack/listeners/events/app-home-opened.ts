import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { refusedHomeView } from '../../blocks/home.js';
import type { SlackDeps } from '../../deps.js';
import { homeScreen } from '../../screens.js';
import { repeatClaims } from '../../dedupe.js';

/** App Home: the dashboard for admins, a short explanation for everyone else. */
export function appHomeOpened(deps: SlackDeps) {
  return async ({ event, client, body }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'home') return;
    // Slack redelivers an event it got no answer to in time: the tab is drawn once.
    if (!(await deps.dedupe.first(repeatClaims({ eventId: body.event_id })))) return;
    const user = await deps.identities.identify(event.user, body.team_id);
    const view = user.allowed ? await homeScreen(deps) : refusedHomeView(user.refusal!);
    await client.views.publish({ user_id: event.user, view });
  };
}
