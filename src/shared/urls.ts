/** Whether `raw` parses as an http:// or https:// URL (webhook endpoints, from WEBHOOK_URLS or the CLI). */
export function isHttpUrl(raw: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(raw).protocol);
  } catch {
    return false;
  }
}
