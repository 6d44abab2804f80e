import http from 'node:http';
import type { Db } from '../../src/db/index.js';
import type { InvitationRow } from '../../src/invites/model.js';
import type { InvitesService } from '../../src/invites/service.js';
import { deriveToken } from '../../src/invites/tokens.js';
import { hashingLoad, MAX_WAITING_HASHES, SCRYPT_PARAMS } from '../../src/members/passwords.js';
import type { ChildServer } from '../lib/children.js';
import { outboxDrained } from '../lib/outbox.js';
import { hashFloor, type FloorRun } from '../lib/scrypt-floor.js';
import type { BenchOptions } from '../lib/options.js';
import { median, percentile, round, type SuiteResult } from '../lib/stats.js';

const PASSWORD = 'a long bench passphrase';

/**
 * One request over node:http (a JSON POST when there is a body); its status and text. Not `fetch`:
 * this runner shares the two cores with Doorman, and a fetch cost it 3–5 ms more CPU per accept,
 * measured per process over the timed windows (docs/benchmarks.md).
 */
function send(url: string, agent: http.Agent, body?: unknown): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers = payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {};
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: payload ? 'POST' : 'GET', agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.once('error', reject);
    });
    request.once('error', reject);
    request.end(payload);
  });
}

/** GET /healthz once. */
async function probe(url: string, agent: http.Agent): Promise<void> {
  const { status } = await send(`${url}/healthz`, agent);
  if (status !== 200) throw new Error(`/healthz answered ${status}`);
}

/**
 * Kept-alive connections for one stretch of requests, closed after it: reused only while the
 * server keeps them open (an idle connection it has closed would answer ECONNRESET).
 */
async function withAgent<T>(maxSockets: number, use: (agent: http.Agent) => Promise<T>): Promise<T> {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  try {
    return await use(agent);
  } finally {
    agent.destroy();
  }
}

/** GET /healthz back to back (5 ms apart, one kept-alive connection) until `until` settles; the latency of each. */
function sampleHealth(url: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  const stop = () => (done = true);
  // Stop either way; a failure of `until` is its owner's to report, not an unhandled rejection here.
  until.then(stop, stop);
  return withAgent(1, async (agent) => {
    const samples: number[] = [];
    while (!done) {
      const started = performance.now();
      await probe(url, agent);
      samples.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return samples;
  });
}

/**
 * As many accepts of distinct tokens at once over the admin API as Doorman takes in at once (its
 * hash slots and the hashes that may wait for one: beyond that it answers 503 at once), against
 * as many raw scrypt-kdf hashes at once. Doorman runs with the runner's environment, so its thread
 * pool, and with it its slots, are the runner's.
 */
export async function acceptSuite(options: BenchOptions, doorman: ChildServer, db: Db, invites: InvitesService, secret: string): Promise<SuiteResult> {
  const admitted = hashingLoad().slots + MAX_WAITING_HASHES;
  const concurrency = options.quick ? Math.min(8, admitted) : admitted;
  const runs = options.runs;
  // Per run: the floor's, and Doorman's figures (CPU per accept, from its process).
  const floorRuns: FloorRun[] = [];
  const doormanRuns: Array<FloorRun & { mainMs: number; healthP99: number; loopP99: number; loopMax: number }> = [];
  // The accepts are measured on their own, not beside a mail backlog being delivered (the emails
  // of the suites before, or of this suite's invitations).
  await outboxDrained(db);
  const idle = await sampleHealth(doorman.url, new Promise((resolve) => setTimeout(resolve, options.quick ? 200 : 1_000)));
  for (let run = 0; run < runs; run++) {
    await outboxDrained(db);
    // Floor: the password hashing alone, as many at once.
    floorRuns.push(await hashFloor(concurrency, PASSWORD));
    const tag = `${Date.now().toString(36)}r${run}`;
    const summary = await invites.inviteMany({ emails: Array.from({ length: concurrency }, (_, i) => `accept${tag}x${i}@bench.example`), actor: { type: 'system' } });
    const rows = await db<InvitationRow>('invitations').whereIn('id', summary.invitationIds).select('token_nonce');
    const tokens = rows.map((r) => deriveToken(secret, r.token_nonce));
    await outboxDrained(db);
    // Doorman's CPU window opens before the first request, so it holds every accept's work (and the
    // `/healthz` probes sent meanwhile).
    await doorman.request('loop', { reset: true });
    const started = performance.now();
    const accepts = withAgent(concurrency, (agent) =>
      Promise.all(
        tokens.map(async (token) => {
          const body = { token, user: { first_name: 'Bench', last_name: 'Person', password: PASSWORD } };
          const { status, text } = await send(`${doorman.url}/admin/invites/accept`, agent, body);
          if (status !== 200) throw new Error(`accept answered ${status}: ${text.slice(0, 200)}`);
        }),
      ),
    );
    const health = sampleHealth(doorman.url, accepts);
    // Both awaited at once, so that a failed probe is reported rather than left unhandled.
    const [rate, samples] = await Promise.all([accepts.then(() => concurrency / ((performance.now() - started) / 1000)), health]);
    const loop = await doorman.request<{ p99: number; max: number; cpuMs: number; systemMs: number; mainMs: number }>('loop', { reset: true });
    const perAccept = (ms: number) => ms / concurrency;
    doormanRuns.push({ rate, cpuMs: perAccept(loop.cpuMs), systemMs: perAccept(loop.systemMs), mainMs: perAccept(loop.mainMs), healthP99: percentile(samples, 99), loopP99: loop.p99, loopMax: loop.max });
  }
  /** The median over the runs of one figure. */
  const med = <R>(runs: R[], pick: (run: R) => number) => median(runs.map(pick));
  const mid = <R>(runs: R[], pick: (run: R) => number) => round(med(runs, pick), 1);
  const ratio = med(doormanRuns, (r) => r.rate) / med(floorRuns, (r) => r.rate);
  const healthP99 = med(doormanRuns, (r) => r.healthP99);
  const mainMs = mid(doormanRuns, (r) => r.mainMs);
  return {
    suite: 'accept',
    how: `${concurrency} concurrent accepts of distinct tokens (POST /admin/invites/accept, each creating a member; ${admitted} is what Doorman takes in at once: ${hashingLoad().slots} hashing, ${MAX_WAITING_HASHES} waiting) against raw scrypt-kdf (logN ${SCRYPT_PARAMS.logN}, r ${SCRYPT_PARAMS.r}, p ${SCRYPT_PARAMS.p}) ${concurrency} at once in the runner's process; Doorman runs under plain \`node\`, as \`npm start\` runs it; /healthz polled back to back meanwhile.`,
    runs,
    rows: [
      { metric: 'accepts/s', floor: mid(floorRuns, (r) => r.rate), doorman: mid(doormanRuns, (r) => r.rate), ratio: round(ratio, 2), goal: '≥ 0.75× floor', pass: ratio >= 0.75 },
      { metric: '/healthz p99 during accepts (ms)', floor: round(percentile(idle, 99), 1), doorman: round(healthP99, 1), goal: '≤ 50 ms', pass: healthP99 <= 50 },
      { metric: 'CPU time per accept / per hash (ms, all threads)', floor: mid(floorRuns, (r) => r.cpuMs), doorman: mid(doormanRuns, (r) => r.cpuMs), ratio: round(med(doormanRuns, (r) => r.cpuMs) / med(floorRuns, (r) => r.cpuMs), 2) },
      { metric: '… of it in the kernel (ms)', floor: mid(floorRuns, (r) => r.systemMs), doorman: mid(doormanRuns, (r) => r.systemMs) },
      { metric: "… of it on Doorman's main thread (ms)", doorman: Number.isFinite(mainMs) ? mainMs : 'not measured (needs Linux /proc)' },
      { metric: 'event-loop delay in Doorman, p99 / max (ms)', doorman: `${mid(doormanRuns, (r) => r.loopP99)} / ${mid(doormanRuns, (r) => r.loopMax)}` },
    ],
    notes: [
      'The floor column of /healthz is its p99 with the service idle.',
      "Each run starts once Doorman's outbox has nothing due (the emails of the suites before, and of the run's own invitations, delivered).",
      "The event-loop delay is measured inside the Doorman process (perf_hooks, 5 ms resolution) over the accepts: it tells a blocked loop from a machine too busy to schedule the request's threads.",
    ],
  };
}
