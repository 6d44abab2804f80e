import { describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES } from '../../src/invites/list-file.js';
import { DomainError } from '../../src/shared/errors.js';
import { downloadSlackFile, FileHostUnavailable, SLACK_FILE_ORIGINS, slackFileOrigins } from '../../src/slack/file-download.js';

/** Downloading a file attached in Slack: where the bot token may go, and what each answer means. */

const FILE = 'https://files.slack.com/files-pri/T0TEST-F0001/download/people.csv';
const GRID = 'https://files-origin.slack.com/files-pri/T0TEST-F0001/download/people.csv';

/** A fetch that answers each URL as `answers` says and records what was asked, with the token sent. */
function host(answers: Record<string, () => Response>) {
  const asked: Array<{ url: string; authorization: string | null }> = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    asked.push({ url, authorization: new Headers(init?.headers).get('authorization') });
    const answer = answers[url];
    if (!answer) throw new TypeError(`fetch failed: nothing at ${url}`);
    return answer();
  }) as typeof globalThis.fetch;
  return { asked, fetch };
}

const redirect = (location: string) => () => new Response(null, { status: 302, headers: { location } });
const csv = (body = 'email\njane@corp.test\n') => () => new Response(body, { headers: { 'content-type': 'text/csv' } });
const download = (url: string, fetch: typeof globalThis.fetch) => downloadSlackFile(url, { token: 'xoxb-bot', origins: SLACK_FILE_ORIGINS, name: 'people.csv', fetch });

describe('downloadSlackFile', () => {
  it("follows Enterprise Grid's redirect from files.slack.com to files-origin.slack.com with the token", async () => {
    const { asked, fetch } = host({ [FILE]: redirect(GRID), [GRID]: csv() });
    expect((await download(FILE, fetch)).toString()).toBe('email\njane@corp.test\n');
    expect(asked).toEqual([
      { url: FILE, authorization: 'Bearer xoxb-bot' },
      { url: GRID, authorization: 'Bearer xoxb-bot' },
    ]);
  });

  it("follows a redirect to Slack's content delivery hosts (an address signed for the download) without the token", async () => {
    for (const cdn of ['https://files.slack-edge.com/files-pri/T0TEST-F0001/people.csv?sig=abc', 'https://slack-files.com/files-pri/T0TEST-F0001/people.csv?pub_secret=abc']) {
      const { asked, fetch } = host({ [FILE]: redirect(cdn), [cdn]: csv() });
      expect((await download(FILE, fetch)).toString()).toBe('email\njane@corp.test\n');
      expect(asked).toEqual([
        { url: FILE, authorization: 'Bearer xoxb-bot' },
        { url: cdn, authorization: null },
      ]);
    }
    // Not over plain http, another port, or a look-alike.
    for (const bad of ['http://files.slack-edge.com/x.csv', 'https://files.slack-edge.com:8443/x.csv', 'https://slack-edge.com.evil.test/x.csv', 'https://evilslack-edge.com/x.csv']) {
      await expect(download(FILE, host({ [FILE]: redirect(bad) }).fetch), bad).rejects.toThrow(/not to one of its file hosts/);
    }
  });

  it.each([
    ['another host', 'https://evil.test/people.csv'],
    ['a protocol-relative address', '//evil.test/people.csv'],
    ['a look-alike host', 'https://files.slack.com.evil.test/people.csv'],
    ['plain http on a file host', 'http://files.slack.com/people.csv'],
    ['another port of a file host', 'https://files.slack.com:8443/people.csv'],
    ["Slack's sign-in page", 'https://corp.slack.com/?redir=%2Ffiles-pri%2FT0TEST-F0001'],
  ])('does not follow a redirect to %s: the token goes nowhere else', async (_, location) => {
    const { asked, fetch } = host({ [FILE]: redirect(location) });
    await expect(download(FILE, fetch)).rejects.toThrow(/redirected the download to .*, not to one of its file hosts \(its sign-in page, when the files:read scope is missing\)/);
    expect(asked.map((a) => a.url)).toEqual([FILE]);
  });

  it('refuses an address with credentials of its own, given or redirected to, before sending anything there', async () => {
    const withCredentials = 'https://user:pass@files-origin.slack.com/people.csv';
    const { asked, fetch } = host({ [FILE]: redirect(withCredentials) });
    await expect(download(FILE, fetch)).rejects.toThrow(/credentials/);
    await expect(download(withCredentials, fetch)).rejects.toThrow(/credentials/);
    expect(asked.map((a) => a.url)).toEqual([FILE]);
  });

  it('refuses an address off the file hosts, or none, without a request', async () => {
    const { asked, fetch } = host({});
    await expect(download('https://evil.test/people.csv', fetch)).rejects.toThrow('files are not fetched from https://evil.test');
    await expect(download('not a url', fetch)).rejects.toThrow('the file has no usable address');
    expect(asked).toEqual([]);
  });

  it('follows three redirects among the file hosts, not a fourth; an unusable Location is refused', async () => {
    const hop = (n: number) => `${GRID}?hop=${n}`;
    const three = host({ [FILE]: redirect(hop(1)), [hop(1)]: redirect(hop(2)), [hop(2)]: redirect(hop(3)), [hop(3)]: csv() });
    expect((await download(FILE, three.fetch)).length).toBeGreaterThan(0);
    const four = host({ [FILE]: redirect(hop(1)), [hop(1)]: redirect(hop(2)), [hop(2)]: redirect(hop(3)), [hop(3)]: redirect(hop(4)), [hop(4)]: csv() });
    await expect(download(FILE, four.fetch)).rejects.toThrow('more than 3 times');
    expect(four.asked).toHaveLength(4);
    await expect(download(FILE, host({ [FILE]: redirect('https://[::1') }).fetch)).rejects.toThrow('an unusable address');
  });

  it('says what may work later (FileHostUnavailable) and what will not', async () => {
    const cut = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('email\njane@'));
            controller.error(new Error('socket hang up'));
          },
        }),
      );
    for (const answer of [() => new Response('busy', { status: 503 }), () => new Response('slow down', { status: 429 }), cut]) {
      await expect(download(FILE, host({ [FILE]: answer }).fetch)).rejects.toBeInstanceOf(FileHostUnavailable);
    }
    await expect(download(FILE, host({}).fetch)).rejects.toBeInstanceOf(FileHostUnavailable);

    const html = () => new Response('<html>Sign in</html>', { headers: { 'content-type': 'text/html; charset=utf-8' } });
    await expect(download(FILE, host({ [FILE]: html }).fetch)).rejects.toThrow(/sign-in page instead of the file/);
    const gone = download(FILE, host({ [FILE]: () => new Response('gone', { status: 404 }) }).fetch);
    await expect(gone).rejects.toThrow('Slack answered 404 for the file');
    await expect(gone).rejects.not.toBeInstanceOf(FileHostUnavailable);
    const large = () => new Response('x', { headers: { 'content-type': 'text/csv', 'content-length': String(MAX_FILE_BYTES + 1) } });
    await expect(download(FILE, host({ [FILE]: large }).fetch)).rejects.toBeInstanceOf(DomainError);
  });

  it('a body sent without Content-Length is refused as too large once past the limit, without being read to its end', async () => {
    let sent = 0;
    const endless = () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            sent += 64 * 1024;
            controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
          },
        }),
        { headers: { 'content-type': 'text/csv' } },
      );
    await expect(download(FILE, host({ [FILE]: endless }).fetch)).rejects.toThrow(/larger than 5 MB/);
    expect(sent).toBeLessThan(MAX_FILE_BYTES + 1024 * 1024);
    // Within the limit, a chunked body comes whole.
    expect((await download(FILE, host({ [FILE]: csv('email\njane@corp.test\nsam@corp.test\n') }).fetch)).toString()).toBe('email\njane@corp.test\nsam@corp.test\n');
  });
});

describe('slackFileOrigins: where the bot token may fetch files, for SLACK_API_URL', () => {
  it("Slack's file hosts by default; GovSlack's when the API is GovSlack's; and the API's own origin when set", async () => {
    expect(slackFileOrigins()).toEqual(['https://files.slack.com', 'https://files-origin.slack.com']);
    const gov = slackFileOrigins('https://slack-gov.com/api/');
    expect(gov).toEqual(['https://files.slack-gov.com', 'https://files-origin.slack-gov.com', 'https://slack-gov.com']);
    expect(slackFileOrigins('http://127.0.0.1:4000/api/')).toEqual([...SLACK_FILE_ORIGINS, 'http://127.0.0.1:4000']);
    // A GovSlack file is fetched from its host (here a stand-in fetch), with the token; never slack.com's for it.
    const asked: string[] = [];
    const fetched = await downloadSlackFile('https://files.slack-gov.com/files-pri/T0GOV-F0001/download/list.csv', {
      token: 'xoxb-gov',
      origins: gov,
      name: 'list.csv',
      fetch: (async (url: string | URL) => {
        asked.push(String(url));
        return new Response('email\nann@agency.gov\n', { status: 200 });
      }) as typeof fetch,
    });
    expect(fetched.toString()).toContain('ann@agency.gov');
    expect(asked).toEqual(['https://files.slack-gov.com/files-pri/T0GOV-F0001/download/list.csv']);
  });
});
