import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { commandBody, FORM, slackSignature } from '../../test/support/slack-sign.js';
import { BENCH_ADMIN, BENCH_COMMAND, BENCH_SIGNING_SECRET, BENCH_TEAM } from './slack-names.js';
import { percentile, round } from './stats.js';


export { BENCH_ADMIN, BENCH_COMMAND, BENCH_SIGNING_SECRET, BENCH_TEAM };

export interface LoadResult {
  p50: number;
  p99: number;
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Acks whose body was the Invitations table (an answer given in the ack). */
  answeredInAck: number;
  /** Every 100th ack body with content, for a Block Kit check after the run. */
  samples: string[];
}

/** `/doorman <text>` as Slack posts it; every one has its own trigger_id (Doorman drops repeats). */
export function slashCommand(text: string, triggerId: string, responseUrl: string): string {
  return commandBody({
    token: 'deprecated-verification-token',
    team_id: BENCH_TEAM,
    team_domain: 'bench',
    channel_id: 'C0GENERAL',
    channel_name: 'general',
    user_id: BENCH_ADMIN,
    user_name: 'bench-admin',
    command: BENCH_COMMAND,
    text,
    api_app_id: 'A0DOORMAN',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: triggerId,
  });
}

export function signedHeaders(body: string, contentType = FORM): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return { 'content-type': contentType, 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': slackSignature(BENCH_SIGNING_SECRET, timestamp, body) };
}

/**
 * autocannon against a Slack endpoint: `connections` keep-alive connections posting
 * `/doorman invites` (the first page, pending) for `seconds`, each request built (new trigger_id)
 * and signed afresh in setupRequest.
 */
export async function loadSlashCommand(endpoint: string, responseBase: string, seconds: number, connections = 20): Promise<LoadResult> {
  const salt = randomBytes(4).toString('hex');
  let seq = 0;
  let answeredInAck = 0;
  const samples: string[] = [];
  const load = autocannon({
    url: endpoint,
    connections,
    duration: seconds,
    method: 'POST',
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const id = `${salt}.${++seq}`;
          const body = slashCommand('invites', `bench.${id}`, `${responseBase}${id}`);
          return { ...request, method: 'POST', body, headers: { ...request.headers, ...signedHeaders(body) } };
        },
        onResponse: (status, body, _context, headers) => {
          if (status !== 200 || !body) return;
          // Slack reads an ack as a message only when it is marked JSON; otherwise as plain text.
          const type = (headers as Record<string, string> | undefined)?.['content-type'] ?? '';
          if (body.includes('"Invitations') && type.startsWith('application/json')) answeredInAck++;
          if (answeredInAck % 100 === 1) samples.push(body);
        },
      },
    ],
  });
  // Latencies to the microsecond, from each 2xx response: autocannon's own histogram keeps whole
  // milliseconds, which at a floor of 7–8 ms moves the p99 ratio in steps of 12–14%.
  const latencies: number[] = [];
  // Without a callback autocannon's instance is both the promise of the result and its event emitter.
  (load as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await load;
  return {
    p50: round(percentile(latencies, 50), 2),
    p99: round(percentile(latencies, 99), 2),
    rps: result.requests.average,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    answeredInAck,
    samples,
  };
}
