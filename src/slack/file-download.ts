import { MAX_FILE_BYTES, tooLarge } from '../invites/list-file.js';

/**
 * Where a file attached in Slack is downloaded from with the bot token: files.slack.com, and
 * files-origin.slack.com, where Enterprise Grid redirects those downloads.
 */
export const SLACK_FILE_ORIGINS: readonly string[] = ['https://files.slack.com', 'https://files-origin.slack.com'];
/** GovSlack's, which runs on slack-gov.com instead of slack.com. */
const GOVSLACK_FILE_ORIGINS: readonly string[] = ['https://files.slack-gov.com', 'https://files-origin.slack-gov.com'];

/**
 * The file hosts for SLACK_API_URL: GovSlack's when it points there, Slack's otherwise; and its own
 * origin, which already receives the token with every call (a proxy, the tests' stand-in).
 */
export function slackFileOrigins(slackApiUrl?: string): string[] {
  if (!slackApiUrl) return [...SLACK_FILE_ORIGINS];
  const api = new URL(slackApiUrl);
  const gov = api.hostname === 'slack-gov.com' || api.hostname.endsWith('.slack-gov.com');
  return [...(gov ? GOVSLACK_FILE_ORIGINS : SLACK_FILE_ORIGINS), api.origin];
}

/**
 * Slack's content delivery hosts, where a download may be redirected to an address signed for it:
 * followed without the token, which never leaves the file hosts.
 */
const SIGNED_FILE_HOSTS = /^(?:[a-z0-9-]+\.)*(?:slack-edge\.com|slack-files\.com)$/;
const DOWNLOAD_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 3;

/** The file host did not answer (a network error, a time-out, a 5xx, a download cut off): worth trying again later. */
export class FileHostUnavailable extends Error {}

export interface FileDownloadOptions {
  token: string;
  /** The origins the token may go to. */
  origins: readonly string[];
  /** The file's name, for a refusal that names it. */
  name: string;
  fetch?: typeof fetch;
}

/**
 * Downloads a file from Slack's file hosts with the bot token. Redirects are followed here, one hop
 * at a time and only to `origins`, so the token goes nowhere else. Throws FileHostUnavailable when
 * trying again later may work, a DomainError when the file is not a list, and an Error otherwise.
 */
export async function downloadSlackFile(url: string, options: FileDownloadOptions): Promise<Buffer> {
  const doFetch = options.fetch ?? fetch;
  const signal = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  let target = fileHost(url, options.origins);
  let signed = false;
  let res: Response;
  for (let hops = 0; ; hops++) {
    try {
      res = await doFetch(target, { headers: signed ? {} : { authorization: `Bearer ${options.token}` }, redirect: 'manual', signal });
    } catch (error) {
      throw new FileHostUnavailable(`no answer from Slack's file host: ${(error as Error).message}`, { cause: error });
    }
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (!location) break;
    await res.body?.cancel();
    let next: URL;
    try {
      next = new URL(location, target);
    } catch {
      throw new Error('Slack redirected the download to an unusable address');
    }
    // Without files:read Slack redirects the download to its sign-in page, on another host.
    const toSigned = next.protocol === 'https:' && next.port === '' && SIGNED_FILE_HOSTS.test(next.hostname);
    if (!options.origins.includes(next.origin) && !toSigned) throw new Error(`Slack redirected the download to ${next.origin}, not to one of its file hosts (its sign-in page, when the files:read scope is missing)`);
    if (hops === MAX_REDIRECTS) throw new Error(`Slack's file host redirected the download more than ${MAX_REDIRECTS} times`);
    // Once signed, never with the token again (a hop back to a file host is one more signed address).
    signed ||= toSigned;
    target = fileHost(next.href, signed ? [...options.origins, next.origin] : options.origins);
  }
  const html = (res.headers.get('content-type') ?? '').includes('text/html');
  // Every answer but the file itself is let go at once, so its connection is not held.
  await (html || !res.ok ? res.body?.cancel() : undefined);
  if (res.status >= 500 || res.status === 429) throw new FileHostUnavailable(`Slack answered ${res.status} for the file`);
  if (html) throw new Error('Slack answered with its sign-in page instead of the file: is the files:read scope granted?');
  if (!res.ok) throw new Error(`Slack answered ${res.status} for the file`);
  if (Number(res.headers.get('content-length') ?? 0) > MAX_FILE_BYTES) {
    await res.body?.cancel();
    throw tooLarge(options.name);
  }
  // Read with the limit kept as it comes: a body sent without Content-Length (chunked) is not
  // read whole before it is found too large.
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.byteLength;
      if (size > MAX_FILE_BYTES) break;
      chunks.push(chunk);
    }
  } catch (error) {
    // Cut off while the file was coming (a time-out, a reset): the host, not the file.
    throw new FileHostUnavailable(`the download from Slack's file host broke off: ${(error as Error).message}`, { cause: error });
  }
  if (size > MAX_FILE_BYTES) throw tooLarge(options.name);
  return Buffer.concat(chunks);
}

/** A URL the token may be sent to: one of `origins`, with no credentials of its own. */
function fileHost(url: string, origins: readonly string[]): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new Error('the file has no usable address');
  }
  if (!origins.includes(target.origin)) throw new Error(`files are not fetched from ${target.origin}`);
  if (target.username || target.password) throw new Error("the file's address carries credentials of its own");
  return target;
}
