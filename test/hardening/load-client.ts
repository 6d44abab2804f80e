import { parentPort, Worker, workerData } from 'node:worker_threads';
import { messageProblems } from '../support/slack-api.js';
import { blockActionsPayload, clickedAction, eventCallback, newTriggerId, slashCommandFields } from '../support/slack-payloads.js';
import { commandBody, FORM, interactionBody, JSON_TYPE, postSigned, type SignedResponse } from '../support/slack-sign.js';

/**
 * The load test's Slack side: the concurrent clients run in a thread of their own, as Slack runs on
 * other machines, so the app's event loop is not also the clients' and an ack's time is not
 * stretched by the clients' own turns. The Web API stand-in stays with the app (it is what the app
 * calls, and the test reads its record).
 */

export interface LoadSetup {
  endpoint: string;
  signingSecret: string;
  command: string;
  /** Admin, member admin, plain member: each request's user in turn. */
  users: string[];
  invitationIds: string[];
}

const KINDS = ['invites', 'members/help', 'page click', 'copy link', 'invite', 'app_home_opened'] as const;

export interface LoadResult {
  /** Every ack's time, in the order they came. */
  acks: number[];
  byKind: Record<string, number[]>;
  statuses: Record<number, number>;
  errors: number;
  errorSamples: string[];
  /** Answers given in an ack that Slack would refuse to show (Block Kit limits). */
  refusedAcks: string[];
}

type ToClient = { type: 'run'; ms: number; concurrency: number; responseUrls: string[] } | { type: 'urls'; urls: string[] };
type FromClient = { type: 'more' } | { type: 'done'; result: LoadResult };

/** Below this many response_urls in hand the client asks for more. */
const LOW_WATER = 2_000;

/** Starts the client thread; `issueUrls(n)` hands out n response_urls issued by the stand-in. */
export function startLoadClient(setup: LoadSetup, issueUrls: (n: number) => string[]) {
  // The thread loads this file through tsx, as the CLI's child processes do (the test runner's
  // transform does not reach worker threads).
  const worker = new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`, { eval: true, workerData: setup });
  let waiting: { resolve: (r: LoadResult) => void; reject: (e: unknown) => void } | undefined;
  // A thread that failed (to load, say) fails the run under way or the next one, instead of leaving it waiting.
  let failed: unknown;
  const fail = (error: unknown) => {
    failed ??= error;
    waiting?.reject(failed);
  };
  worker.on('message', (message: FromClient) => {
    if (message.type === 'more') worker.postMessage({ type: 'urls', urls: issueUrls(5_000) } satisfies ToClient);
    else waiting?.resolve(message.result);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the load client's thread ended (exit code ${code})`)));
  return {
    /** `concurrency` clients in a closed loop for `ms`. */
    run(ms: number, concurrency: number): Promise<LoadResult> {
      return new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        waiting = { resolve, reject };
        worker.postMessage({ type: 'run', ms, concurrency, responseUrls: issueUrls(5_000) } satisfies ToClient);
      });
    },
    stop: () => worker.terminate(),
  };
}

/** In the thread: the mixed requests, signed as Slack signs them. */
function client(port: NonNullable<typeof parentPort>, setup: LoadSetup): void {
  const urls: string[] = [];
  let asked = false;
  const responseUrl = (): string => {
    if (urls.length < LOW_WATER && !asked) {
      asked = true;
      port.postMessage({ type: 'more' } satisfies FromClient);
    }
    const url = urls.pop();
    if (!url) throw new Error('no response_url left');
    return url;
  };
  let n = 0;
  let seq = 0;
  const signed = (body: string, type: string) => postSigned(setup.endpoint, setup.signingSecret, body, type);
  const slash = async (text: string, user: string, result: LoadResult) => {
    const ack = await signed(commandBody(slashCommandFields({ command: setup.command, text, user, responseUrl: responseUrl(), triggerId: newTriggerId() })), FORM);
    if (ack.status === 200 && ack.json && typeof ack.json === 'object') {
      const problems = messageProblems(ack.json as Record<string, unknown>);
      if (problems.length && result.refusedAcks.length < 20) result.refusedAcks.push(`ack to "${text}": ${problems.join('; ')}`);
    }
    return ack;
  };
  const click = (element: { action_id: string; value: string }, user: string) =>
    signed(interactionBody(blockActionsPayload({ user, triggerId: newTriggerId(), action: clickedAction(element), surface: { in: 'ephemeral', responseUrl: responseUrl() } })), FORM);
  const send = (i: number, result: LoadResult): Promise<SignedResponse> => {
    const user = setup.users[i % setup.users.length]!;
    const ids = setup.invitationIds;
    switch (i % 6) {
      case 0:
        return slash(['invites pending', 'invites all', 'invites expired load'][i % 3]!, user, result);
      case 1:
        return slash(i % 12 === 1 ? 'help' : 'members', user, result);
      case 2:
        return click({ action_id: 'invites_page_1', value: `all.email.asc.${(i % 4) * 10}` }, user);
      case 3:
        return click({ action_id: 'invite_copy_link_1', value: `t.${ids[i % ids.length]}.pending.created.desc.0` }, user);
      case 4:
        return slash(i % 12 === 4 ? `invite load-new${i}@corp.test` : 'invite load1@corp.test', user, result);
      default:
        return signed(JSON.stringify(eventCallback({ type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home', event_ts: `${Date.now() / 1000}` }, { eventId: `EvLoad${++seq}` })), JSON_TYPE);
    }
  };
  const run = async (ms: number, concurrency: number): Promise<LoadResult> => {
    const result: LoadResult = { acks: [], byKind: Object.fromEntries(KINDS.map((k) => [k, []])), statuses: {}, errors: 0, errorSamples: [], refusedAcks: [] };
    const until = Date.now() + ms;
    const lane = async () => {
      while (Date.now() < until) {
        const i = n++;
        try {
          const r = await send(i, result);
          result.acks.push(r.ms);
          result.byKind[KINDS[i % 6]!]!.push(r.ms);
          result.statuses[r.status] = (result.statuses[r.status] ?? 0) + 1;
          if (r.status !== 200) result.errors++;
        } catch (error) {
          result.errors++;
          if (result.errorSamples.length < 5) result.errorSamples.push(String(error));
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return result;
  };
  port.on('message', (message: ToClient) => {
    if (message.type === 'urls') {
      urls.push(...message.urls);
      asked = false;
      return;
    }
    // A new run's response_urls only: the stand-in forgets the earlier ones between runs.
    urls.splice(0, urls.length, ...message.responseUrls);
    asked = false;
    void run(message.ms, message.concurrency).then((result) => port.postMessage({ type: 'done', result } satisfies FromClient));
  });
}

if (parentPort && (workerData as LoadSetup | undefined)?.endpoint) client(parentPort, workerData as LoadSetup);
