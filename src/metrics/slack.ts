import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { webApi } from '@slack/bolt';
import type { Metrics, SlackCallResult, SlackRequestType } from './metrics.js';

/** Where Slack's Web API lives unless SLACK_API_URL says otherwise (the WebClient's own default). */
export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';

type FetchFunction = NonNullable<webApi.WebClientOptions['fetch']>;

/**
 * A `fetch` for the Web API client (its documented `fetch` option, which Bolt also uses for
 * respond()): counts every HTTP attempt, retries included, into `doorman_slack_api_calls_total`.
 * A 429 is `rate_limited`; an answer with `ok: false` or any other status, or no answer, is
 * `error`. The method label is the Web API method (`chat.postMessage`) or `response_url`.
 */
export function countingFetch(metrics: Metrics, slackApiUrl: string = DEFAULT_SLACK_API_URL): FetchFunction {
  return async (url, init) => {
    const target = String(url);
    const method = target.startsWith(slackApiUrl) ? methodLabel(target.slice(slackApiUrl.length)) : 'response_url';
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      metrics.slackApiCall(method, 'error');
      throw error;
    }
    metrics.slackApiCall(method, await callResult(response, method !== 'response_url'));
    return response;
  };
}

/** A Web API method name as it appears in the URL; anything else is `other`, so no label can grow without bound. */
function methodLabel(rest: string): string {
  const method = rest.split(/[?#]/)[0] ?? '';
  return /^[a-zA-Z]+(\.[a-zA-Z]+){1,4}$/.test(method) ? method : 'other';
}

async function callResult(response: Response, webApiCall: boolean): Promise<SlackCallResult> {
  if (response.status === 429) return 'rate_limited';
  if (!webApiCall) return response.ok ? 'ok' : 'error';
  if (response.status !== 200) return 'error';
  // The Web API answers refusals with 200 and `ok: false`; a copy is read so the client still reads the original.
  const body = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { ok?: unknown } | undefined;
  return body?.ok === true ? 'ok' : 'error';
}

/**
 * A Bolt global middleware timing each request from Slack into
 * `doorman_slack_request_duration_seconds{type}`: from Bolt taking it to its listeners finishing
 * (work after the ack included).
 */
export function slackRequestTiming(metrics: Metrics): Middleware<AnyMiddlewareArgs> {
  return async ({ body, next }) => {
    const end = metrics.slackRequestDuration.startTimer({ type: slackRequestType(body) });
    try {
      await next();
    } finally {
      end();
    }
  };
}

/** The kind of request, from the body Slack sent. */
export function slackRequestType(body: AnyMiddlewareArgs['body']): SlackRequestType {
  if ('command' in body && typeof body.command === 'string') return 'command';
  switch ((body as { type?: unknown }).type) {
    case 'block_actions':
    case 'interactive_message':
      return 'action';
    case 'view_submission':
    case 'view_closed':
      return 'view';
    case 'shortcut':
    case 'message_action':
      return 'shortcut';
    case 'event_callback':
      return 'event';
    case 'block_suggestion':
      return 'options';
    default:
      return 'other';
  }
}
