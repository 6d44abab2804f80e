/**
 * What is wrong with `raw` as a webhook endpoint (from WEBHOOK_URLS or the CLI), or undefined when
 * it will do: an http:// or https:// URL without a user name or password (fetch refuses those, and
 * they would be logged; a receiver's credentials go in its own query or path secret instead).
 */
export function webhookUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not an http:// or https:// URL';
  }
  if (!['http:', 'https:'].includes(url.protocol)) return 'is not an http:// or https:// URL';
  if (url.username || url.password) return 'carries a user name or password, which requests cannot send; put the receiver\'s secret in its path or query instead';
  return undefined;
}

/** A URL as it may be shown: everything between the scheme and the last @ (a user name and password, whatever they hold) replaced. */
export function redactUserinfo(raw: string): string {
  return raw.replace(/^([^:/?#\s]+:\/\/).*@/, '$1***@');
}

/** Hosts where plain http never leaves the machine. */
const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/i;

/** Whether a webhook endpoint sends its payloads (email addresses, names) unencrypted off this machine. */
export function plainHttpOffMachine(raw: string): boolean {
  const url = new URL(raw);
  return url.protocol === 'http:' && !LOOPBACK.test(url.hostname);
}
