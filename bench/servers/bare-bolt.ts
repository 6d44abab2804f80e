import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import { BENCH_COMMAND } from '../lib/slack-names.js';
import { serve } from './ipc.js';

/**
 * The floor of the slash-command benchmarks: a bare Bolt app on the same receiver (ExpressReceiver,
 * signature checked) that acks `/doorman` (whatever its text) with static text and does nothing else.
 */
const signingSecret = process.env.SLACK_SIGNING_SECRET!;
const receiver = new ExpressReceiver({ signingSecret, endpoints: '/slack/events', processBeforeResponse: false, logLevel: LogLevel.ERROR });
const app = new App({ token: 'xoxb-bench', receiver, tokenVerificationEnabled: false, botId: 'B0BENCH', botUserId: 'U0BOT', logLevel: LogLevel.ERROR });
app.command(BENCH_COMMAND, async ({ ack }) => {
  await ack('Invitations: 0 pending.');
});
const server = http.createServer(receiver.app);
server.keepAliveTimeout = 5_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const port = (server.address() as AddressInfo).port;
serve({ url: `http://127.0.0.1:${port}` }, {}, async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
