import path from 'node:path';
import { SlackApiStandIn } from '../../test/support/slack-api.js';
import { BENCH_ADMIN, BENCH_TEAM } from '../lib/slack-names.js';
import { serve } from './ipc.js';

/**
 * The Slack Web API stand-in (auth.test, users.info, chat.*, response_url posts) in its own process,
 * so the posts Doorman makes after each ack cost nothing in the process that measures latency.
 * It keeps only a count of what it got (the test stand-in records everything; that would grow).
 */
// The manifest's scopes are what the stand-in grants. The runner starts every server in the
// repository's root; compiled, the stand-in would look for the manifest beside dist/ instead.
const api = await SlackApiStandIn.start(process.env.SLACK_BOT_TOKEN ?? 'xoxb-bench', { manifestPath: path.join(process.cwd(), 'manifest.yml') });
// The bench's admin is a bootstrap admin (no users.info needed to decide who they are; Doorman
// reads the name once). Any user added here must be of the installed workspace (auth.test's
// team_id) with a confirmed email, or Doorman refuses them.
api.users.set(BENCH_ADMIN, { email: 'boss@corp.test', name: 'Bench Admin', team_id: BENCH_TEAM, is_email_confirmed: true });
// The seeded history's inviter: DMs about their invitations (expiry, acceptance) go to them.
api.users.set('U0SEEDER', { email: 'seeder@corp.test', name: 'Seeder', team_id: BENCH_TEAM, is_email_confirmed: true });
// Slack issues a response_url with each command; the stand-in takes posts only to the ones it issued
// (`responseUrl(id)`). The runner builds each command's URL itself (respondBase + id, in autocannon's
// setupRequest), so here a URL counts as issued the first time it is posted to: a command answered
// past its in-ack deadline posts its table there, and that post must be taken, checked and counted.
const issued = (api as unknown as { responseUrls: Map<string, { issuedAt: number; posts: number }> }).responseUrls;
const lookUp = issued.get.bind(issued);
issued.get = (id: string) => {
  if (!issued.has(id)) issued.set(id, { issuedAt: Date.now(), posts: 0 });
  return lookUp(id);
};
/** Posts to a response_url that carry the invitations table (what a late `/doorman invites` answers). */
let tables = 0;
let rejected = 0;
// Keep memory flat: count, then forget.
setInterval(() => {
  for (const r of api.responses.splice(0)) {
    if (r.error) rejected++;
    else if (String((r.body as { text?: unknown } | undefined)?.text ?? '').includes('Invitations')) tables++;
  }
  rejected += api.calls.filter((c) => !c.ok).length;
  api.calls.splice(0);
}, 200).unref();
serve(
  { url: api.url, respondBase: api.responseUrl('') },
  {
    stats: async () => {
      await new Promise((resolve) => setTimeout(resolve, 250));
      return { tables, rejected };
    },
  },
  () => api.stop(),
);
