import { createHmac } from 'node:crypto';

/**
 * Slack's request signing (v0): HMAC-SHA256 over `v0:<timestamp>:<raw body>` with the signing
 * secret, sent as `x-slack-signature: v0=<hex>` next to `x-slack-request-timestamp`.
 */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return 'v0=' + createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
}

export interface SignedPostOptions {
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  /** Override the signature (forgeries). */
  signature?: string;
  /** Slack's retry header, as on a redelivery. */
  retryNum?: number;
}

export interface SignedResponse {
  status: number;
  text: string;
  /** The body as JSON when its content-type says application/json (as Slack reads it), else undefined. */
  json: unknown;
  /** How long the answer (the ack) took. */
  ms: number;
}

/** Posts a body to the app's Slack endpoint the way Slack does. */
export async function postSigned(url: string, secret: string, body: string, contentType: string, options: SignedPostOptions = {}): Promise<SignedResponse> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': options.signature ?? slackSignature(secret, timestamp, body),
  };
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  const ms = performance.now() - started;
  // As Slack reads an ack: a JSON message only when it says it is one; any other body is plain text.
  let json: unknown;
  if (text && /^application\/json\b/i.test(response.headers.get('content-type') ?? '')) json = JSON.parse(text);
  return { status: response.status, text, json, ms };
}

/** A slash command body (form-encoded), as Slack sends it. */
export function commandBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/** An interactivity body: the JSON payload in one form field. */
export function interactionBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export const FORM = 'application/x-www-form-urlencoded';
export const JSON_TYPE = 'application/json';
