import { SlackApiStandIn } from '../../test/support/slack-api.js';
import { serve } from './ipc.js';

/**
 * The Slack Web API stand-in (users.info, chat.*, response_url posts) in its own process, so the
 * posts Doorman makes after each ack cost nothing in the process that measures latency.
 * It keeps only a count of what it got (the test stand-in records everything; that would grow).
 */
const api = await SlackApiStandIn.start(process.env.SLACK_BOT_TOKEN ?? 'xoxb-bench');
api.users.set('U0ADMIN', { email: 'boss@corp.test', name: 'Bench Admin' });
let responses = 0;
let rejected = 0;
let sample: unknown;
// Keep memory flat: count and sample, then forget.
setInterval(() => {
  for (const r of api.responses.splice(0)) {
    responses++;
    if (r.error) rejected++;
    sample = r.body;
  }
  rejected += api.calls.filter((c) => !c.ok).length;
  api.calls.splice(0);
}, 200).unref();
serve(
  { url: api.url, respondBase: api.responseUrl('') },
  {
    stats: async () => {
      await new Promise((resolve) => setTimeout(resolve, 250));
      return { responses, rejected, sample };
    },
  },
  () => api.stop(),
);
