import { messageProblems } from '../../test/support/slack-api.js';
import type { ChildServer } from '../lib/children.js';
import type { BenchOptions } from '../lib/options.js';
import { loadSlashCommand, type LoadResult } from '../lib/slack-load.js';
import { median, round, type SuiteResult } from '../lib/stats.js';

/**
 * `/doorman invites` (first page, pending, with the stored invitations) through Doorman's real Bolt
 * receiver, against a bare Bolt app acking the same command with static text; rounds alternate
 * so both see the same noise.
 */
export async function slashAckSuite(options: BenchOptions, servers: { doorman: ChildServer; floor: ChildServer; slackApi: ChildServer }): Promise<SuiteResult> {
  const seconds = options.quick ? 1 : 10;
  const rounds = options.quick ? 1 : Math.min(options.runs, 3);
  const responseBase = String(servers.slackApi.info.respondBase);
  const endpoint = (s: ChildServer) => `${s.url}/slack/events`;
  // Warm-up: JIT, connection pools, the permission cache.
  await loadSlashCommand(endpoint(servers.floor), responseBase, options.quick ? 0.5 : 2);
  await loadSlashCommand(endpoint(servers.doorman), responseBase, options.quick ? 0.5 : 2);
  // The warm-up's late answers (posted up to a few seconds after its last ack) must not count as the timed rounds'.
  const settle = () => new Promise((resolve) => setTimeout(resolve, options.quick ? 500 : 3_000));
  await settle();
  const before = await servers.slackApi.request<{ tables: number; rejected: number }>('stats');

  const floor: LoadResult[] = [];
  const doorman: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) {
    floor.push(await loadSlashCommand(endpoint(servers.floor), responseBase, seconds));
    doorman.push(await loadSlashCommand(endpoint(servers.doorman), responseBase, seconds));
  }
  // Let the replies of the last round arrive, then check they are real tables Slack would take.
  await settle();
  const after = await servers.slackApi.request<{ tables: number; rejected: number }>('stats');
  const failures = [...floor, ...doorman].reduce((n, r) => n + r.non2xx + r.errors, 0);
  if (failures) throw new Error(`slash-command ack: ${failures} requests failed or were refused`);
  if (after.rejected) throw new Error(`slash-command ack: the Slack stand-in refused ${after.rejected} replies`);
  // Every Doorman command was answered with the table: in its ack, or (past the deadline) at its response_url.
  const late = after.tables - before.tables;
  const answered = doorman.reduce((n, r) => n + r.answeredInAck, 0) + late;
  const asked = doorman.reduce((n, r) => n + r.requests, 0);
  if (answered < asked) throw new Error(`slash-command ack: ${asked - answered} of ${asked} commands got no table`);
  for (const sample of doorman.flatMap((r) => r.samples)) {
    const body = JSON.parse(sample) as Record<string, unknown>;
    const problems = messageProblems(body);
    if (problems.length || !String(body.text ?? '').includes('Invitations')) throw new Error(`slash-command ack: an answer Slack would refuse or not the table: ${problems.join('; ') || sample.slice(0, 300)}`);
  }

  const m = (runs: LoadResult[], key: 'p50' | 'p99' | 'rps' | 'requests') => median(runs.map((r) => r[key]));
  const ratio = m(doorman, 'p99') / m(floor, 'p99');
  const served = m(doorman, 'requests');
  return {
    suite: 'slash-command ack',
    how: `\`/doorman invites\` first page (pending) with ${options.scaleRows.toLocaleString('en')} invitations stored; signed requests through the real Bolt receiver; autocannon, 20 connections, ${seconds} s per round, floor and Doorman alternating.`,
    runs: rounds,
    rows: [
      { metric: 'ack p99 (ms)', floor: m(floor, 'p99'), doorman: m(doorman, 'p99'), ratio: round(ratio, 2), goal: '≤ 2.0× floor', pass: ratio <= 2 },
      { metric: 'ack p50 (ms)', floor: m(floor, 'p50'), doorman: m(doorman, 'p50'), ratio: round(m(doorman, 'p50') / m(floor, 'p50'), 2) },
      { metric: 'requests/s', floor: round(m(floor, 'rps')), doorman: round(m(doorman, 'rps')), ratio: round(m(doorman, 'rps') / m(floor, 'rps'), 2) },
      { metric: 'tables in the ack', doorman: doorman.reduce((n, r) => n + r.answeredInAck, 0) },
      { metric: 'tables posted to response_url (answer late)', doorman: late },
    ],
    notes: [
      `Doorman answered ${Math.round(served).toLocaleString('en')} commands per round (median), each with the first page of the table (${Math.round(median(doorman.flatMap((r) => r.samples).map((s) => Buffer.byteLength(s))) / 1024)} KB of JSON; the floor's answer is a few bytes of text); a sample of every 100th answer was checked against Slack's Block Kit limits.`,
    ],
  };
}
