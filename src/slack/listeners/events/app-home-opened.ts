import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { refusedHomeView } from '../../blocks/home.js';
import type { SlackDeps } from '../../deps.js';
import { permitted } from '../../guard.js';
import { renderHome } from '../../render.js';

/** App Home: the dashboard for admins, a short explanation for everyone else. */
export function appHomeOpened(deps: SlackDeps) {
  return async ({ event, client }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'home') return;
    const user = await permitted(deps, client, event.user, (text) => client.views.publish({ user_id: event.user, view: refusedHomeView(text) }));
    if (!user) return;
    await client.views.publish({ user_id: event.user, view: await renderHome(deps) });
  };
}
