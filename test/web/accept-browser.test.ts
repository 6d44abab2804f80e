import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDateInWords } from '../../src/mail/templates.js';
import { accessibilityProblems, launchBrowser, recordRequests, screenshot } from '../support/browser.js';
import { DIALECTS, ManualClock } from '../support/db.js';
import { linkFromEmail, request, settled, snapshot, startTestApp, type TestApp } from '../support/http.js';

const TTL = 7 * 86_400_000;
const PASSWORD = 'a sturdy passphrase';

describe.each(DIALECTS)('the accept page in a real Chromium (%s)', (dialect) => {
  let t: TestApp;
  let clock: ManualClock;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let n = 0;

  beforeAll(async () => {
    clock = new ManualClock();
    [t, browser] = await Promise.all([startTestApp(dialect, { clock }), launchBrowser()]);
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await t?.close();
  });

  async function newPage(options: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number }; colorScheme?: 'dark'; timezoneId?: string } = {}): Promise<{ page: Page; requests: string[]; consoleErrors: string[] }> {
    const context = await browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true, viewport: options.viewport ?? { width: 800, height: 900 }, locale: 'en-GB', colorScheme: options.colorScheme ?? 'light', timezoneId: options.timezoneId });
    contexts.push(context);
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    return { page, requests: recordRequests(page), consoleErrors };
  }

  /** An admin invites through the API; the link comes from the email the SMTP server received. */
  async function inviteByEmail(label: string, role = 'member'): Promise<{ email: string; link: string; token: string }> {
    const email = `${label}-${++n}@example.test`;
    const res = await request(t.url, '/admin/invites', { apiToken: t.admin.apiToken, body: { user: email, role } });
    expect(res.status, res.text).toBe(200);
    const { link, token } = await linkFromEmail(t.smtp, email);
    return { email, link, token };
  }

  it('from the email to a signed-in member: the form, its labels, success, then the API', async () => {
    const { email, link } = await inviteByEmail('grace', 'developer');
    // The email carries the link whole (quoted-printable undone by the SMTP capture), on PUBLIC_URL.
    expect(link.startsWith(`${t.url}/invite?token=`)).toBe(true);
    const mail = t.smtp.to(email)[0]!;
    expect(mail.subject).toMatch(/Acme/);
    const row = await t.invitation(email);

    const { page, requests, consoleErrors } = await newPage();
    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Join Acme');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Join Acme');
    const lead = await page.locator('.lead').textContent();
    expect(lead).toContain('Ada Lovelace invited you');
    expect(lead).toContain('Acme');
    expect(lead).toContain('Developer');
    // The expiry in the reader's zone, the UTC words kept as its title; the address in full, wrapping.
    expect(await page.locator('dl.facts time').getAttribute('title')).toBe(formatDateInWords(Number(row.expires_at)));
    expect(await page.locator('dl.facts').textContent()).toContain(email);
    // The address is the form's user name, so a password manager saves the password under it.
    const username = page.getByLabel('Email', { exact: true });
    expect([await username.inputValue(), await username.getAttribute('autocomplete'), await username.getAttribute('readonly')]).toEqual([email, 'username', '']);
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await screenshot(page, `accept-${dialect}-form`);

    // getByLabel proves every field is labelled the way a screen reader announces it.
    await page.getByLabel('First name', { exact: true }).fill('Grace');
    await page.getByLabel('Last name', { exact: true }).fill('Hopper');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    expect(await page.getByLabel('Password', { exact: true }).getAttribute('autocomplete')).toBe('new-password');
    // Show passwords reveals both fields while typing; unticked, they are hidden again.
    const type = () => Promise.all(['Password', 'Confirm password'].map((label) => page.getByLabel(label, { exact: true }).getAttribute('type')));
    await page.getByLabel('Show passwords').check();
    expect(await type()).toEqual(['text', 'text']);
    await page.getByLabel('Show passwords').uncheck();
    expect(await type()).toEqual(['password', 'password']);
    await page.getByLabel('Show passwords').check();
    const [submitted] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${t.url}/invite`), page.getByRole('button', { name: 'Accept invitation' }).click()]);
    // Post/Redirect/Get: the welcome is a page of its own, which a reload shows again.
    expect([submitted.status(), submitted.headers().location]).toEqual([303, `/invite/welcome?token=${encodeURIComponent(new URL(link).searchParams.get('token')!)}`]);
    await page.waitForLoadState();
    expect(await page.locator('h1').textContent()).toBe('Welcome to Acme');
    expect(await page.locator('main').textContent()).toContain(email);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `accept-${dialect}-success`);
    const reloaded = await page.reload();
    expect([reloaded?.status(), reloaded?.request().method(), await page.locator('h1').textContent()]).toEqual([200, 'GET', 'Welcome to Acme']);

    // Only the page's own origin was ever asked for anything; the CSP let the script run.
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const url of requests) expect(new URL(url).origin).toBe(t.url);
    expect(requests).toContain(`${t.url}/assets/accept.js`);
    expect(consoleErrors).toEqual([]);

    // Sign in through the API with the new credentials.
    const token = await request(t.url, '/admin/auth/token', { body: { email, password: PASSWORD } });
    expect(token.status).toBe(200);
    const me = await request(t.url, '/admin/auth', { bearer: token.json.access_token });
    expect(me.status).toBe(200);
    expect(me.json.user).toMatchObject({ email, first_name: 'Grace', last_name: 'Hopper', role: 'developer' });

    // The link is used now: opening it again says so.
    const reopened = await page.goto(link);
    expect(reopened?.status()).toBe(409);
    expect(await page.locator('h1').textContent()).toBe('This invitation was already used');
    // Whose account and when: the one who just joined recognizes it was them.
    expect(await page.locator('.lead').textContent()).toMatch(new RegExp(`^The account for ${email.replace(/\./g, '\\.')} at Acme was set up with it on `));
  });

  it('a double click sends the form once: the welcome stays on screen, not "already used"', async () => {
    const { email, link } = await inviteByEmail('double');
    const { page } = await newPage();
    await page.goto(link);
    await page.getByLabel('First name', { exact: true }).fill('Dee');
    await page.getByLabel('Last name', { exact: true }).fill('Ouble');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    let posts = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST') posts++;
    });
    await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Accept invitation' }).dblclick()]);
    await page.waitForLoadState();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome to Acme');
    expect(posts).toBe(1);
    expect((await t.invitation(email)).status).toBe('accepted');
  });

  it('a submission the user stopped gives the form back a while later, ready to send again', async () => {
    const { link } = await inviteByEmail('stopped');
    const { page } = await newPage();
    await page.clock.install();
    await page.goto(link);
    await page.getByLabel('First name', { exact: true }).fill('Stop');
    await page.getByLabel('Last name', { exact: true }).fill('Ped');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    // The request is cut off as a press on Stop cuts it (ERR_ABORTED: the page stays).
    let stopped = false;
    await page.route(`${t.url}/invite`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      stopped = true;
      return route.abort('aborted');
    });
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await expect.poll(() => stopped).toBe(true);
    const button = page.locator('button[type=submit]');
    expect(await button.isDisabled()).toBe(true);
    await page.clock.fastForward(20_000);
    // Not before any answer would surely have come: a slow accept is not sent twice.
    expect(await button.isDisabled()).toBe(true);
    await page.clock.fastForward(16_000);
    await expect.poll(() => button.isDisabled()).toBe(false);
    expect(await button.textContent()).toBe('Accept invitation');
    await page.unrouteAll({ behavior: 'ignoreErrors' });
  });

  it('inline messages for a short password and a mismatched confirmation, before anything is sent', async () => {
    const { email, link } = await inviteByEmail('typo');
    const { page, requests, consoleErrors } = await newPage();
    await page.goto(link);
    await page.getByLabel('First name', { exact: true }).fill('Alan');
    await page.getByLabel('Last name', { exact: true }).fill('Turing');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Confirm password', { exact: true }).fill('shorter');
    await page.getByRole('button', { name: 'Accept invitation' }).click();

    await expect.poll(() => page.locator('#password-error').textContent()).toBe('Use at least 8 characters.');
    expect(await page.locator('#confirm_password-error').textContent()).toBe('The passwords do not match.');
    expect(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Confirm password', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('First name', { exact: true }).getAttribute('aria-invalid')).toBeNull();
    // Focus goes to the first field to fix; the messages are tied to their fields.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    expect(await page.getByLabel('Password', { exact: true }).getAttribute('aria-describedby')).toContain('password-error');
    expect(requests.filter((url) => url === `${t.url}/invite`)).toEqual([]);
    await screenshot(page, `accept-${dialect}-errors`);

    // Fixing a field clears its message as the person types.
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await expect.poll(() => page.locator('#password-error').textContent()).toBe('');
    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    await expect.poll(() => page.locator('#confirm_password-error').textContent()).toBe('');
    expect(consoleErrors).toEqual([]);
    expect((await t.invitation(email)).status).toBe('pending');
  });

  it('a long pasted password is kept whole: 600 emoji sign in as pasted, and over 1024 characters is said, not cut', async () => {
    const { email, link } = await inviteByEmail('long');
    const { page, requests } = await newPage();
    await page.goto(link);
    await page.getByLabel('First name', { exact: true }).fill('Ada');
    await page.getByLabel('Last name', { exact: true }).fill('Lovelace');
    // 1,025 characters: one too many, said inline, nothing sent.
    const tooLong = 'x'.repeat(1025);
    await page.getByLabel('Password', { exact: true }).fill(tooLong);
    await page.getByLabel('Confirm password', { exact: true }).fill(tooLong);
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await expect.poll(() => page.locator('#password-error').textContent()).toBe('Use at most 1024 characters.');
    expect(requests.filter((url) => url === `${t.url}/invite`)).toEqual([]);

    // 600 emoji: 600 characters (1,200 UTF-16 units), within the rule; the whole of it is the password.
    const emoji = '😀'.repeat(600);
    await page.getByLabel('Password', { exact: true }).fill(emoji);
    await page.getByLabel('Confirm password', { exact: true }).fill(emoji);
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe(emoji);
    const [submitted] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${t.url}/invite`), page.getByRole('button', { name: 'Accept invitation' }).click()]);
    expect(submitted.status()).toBe(303);
    expect((await t.invitation(email)).status).toBe('accepted');
    const signIn = await request(t.url, '/admin/auth/token', { body: { email, password: emoji } });
    expect(signIn.status, signIn.text).toBe(200);
  });

  it('without JavaScript the server checks the same and answers 422, changing nothing', async () => {
    const { email, link } = await inviteByEmail('nojs');
    await settled(t.services);
    const before = await snapshot(t.services);
    const { page, requests } = await newPage({ javaScriptEnabled: false });
    await page.goto(link);
    await page.getByLabel('First name', { exact: true }).fill('Edsger');
    await page.getByLabel('Last name', { exact: true }).fill('Dijkstra');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Confirm password', { exact: true }).fill('different');
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Accept invitation' }).click()]);
    expect(answer.status()).toBe(422);
    await page.waitForLoadState();
    expect(await page.locator('[role=alert]').textContent()).toBe('Please correct the fields marked below.');
    expect(await page.locator('#password-error').textContent()).toBe('Use at least 8 characters.');
    expect(await page.locator('#confirm_password-error').textContent()).toBe('The passwords do not match.');
    // The title says so first, and the cursor waits in the first field to correct.
    expect(await page.title()).toBe('Error: Join Acme');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    // What was typed in the name fields survives; the passwords do not.
    expect(await page.getByLabel('First name', { exact: true }).inputValue()).toBe('Edsger');
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `accept-${dialect}-errors-nojs`);
    expect(await snapshot(t.services)).toEqual(before);

    // Then, corrected, it succeeds without any script too.
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    const [ok] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Accept invitation' }).click()]);
    expect(ok.status()).toBe(303);
    await page.waitForLoadState();
    expect(await page.locator('h1').textContent()).toBe('Welcome to Acme');
    for (const url of requests) expect(new URL(url).origin).toBe(t.url);
    expect((await t.invitation(email)).status).toBe('accepted');
  });

  it('a form sent back for a name says the password must be typed again, since it is never sent back', async () => {
    const { link } = await inviteByEmail('retype');
    const { page } = await newPage({ javaScriptEnabled: false });
    await page.goto(link);
    // Without the script that works it, the control is not offered.
    expect(await page.getByLabel('Show passwords').isVisible()).toBe(false);
    await page.getByLabel('First name', { exact: true }).fill('Barbara');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Accept invitation' }).click()]);
    expect(answer.status()).toBe(422);
    await page.waitForLoadState();
    expect(await page.locator('#last_name-error').textContent()).toBe('Enter your last name.');
    expect(await page.locator('#password-error').textContent()).toBe('Enter your password again (it is not kept when the form comes back).');
    // The confirmation is not kept either: it says so, or a retyped password alone fails as "do not match".
    expect(await page.locator('#confirm_password-error').textContent()).toBe('Enter it again here too.');
    expect(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('last_name');
  });

  it('in dark mode the error text and the focus rings stand out from the card', async () => {
    const { link } = await inviteByEmail('dark');
    const { page } = await newPage({ colorScheme: 'dark' });
    await page.goto(link);
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await page.getByLabel('Confirm password', { exact: true }).focus();
    const inputRing = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineColor);
    // Past Show passwords, to the button.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('show_passwords');
    await page.keyboard.press('Tab');
    const contrast = await page.evaluate((ring) => {
      const rgb = (color: string) => color.match(/[\d.]+/g)!.slice(0, 3).map(Number);
      const luminance = (color: string) => {
        const [r, g, b] = rgb(color).map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const ratio = (a: string, b: string) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (hi! + 0.05) / (lo! + 0.05);
      };
      const card = getComputedStyle(document.querySelector('.card')!).backgroundColor;
      return {
        focused: document.activeElement?.tagName,
        error: ratio(getComputedStyle(document.getElementById('first_name-error')!).color, card),
        inputRing: ratio(ring, card),
        buttonRing: ratio(getComputedStyle(document.activeElement!).outlineColor, card),
      };
    }, inputRing);
    expect(contrast.focused).toBe('BUTTON');
    // WCAG: 4.5:1 for text, 3:1 for what shows where the focus is.
    expect(contrast.error).toBeGreaterThanOrEqual(4.5);
    expect(contrast.inputRing).toBeGreaterThanOrEqual(3);
    expect(contrast.buttonRing).toBeGreaterThanOrEqual(3);
    await screenshot(page, `accept-${dialect}-dark`);
  });

  it('says when the link expires in the reader\'s own time zone', async () => {
    const { email, link } = await inviteByEmail('tokyo');
    const expires = Number((await t.invitation(email)).expires_at);
    const { page } = await newPage({ timezoneId: 'Asia/Tokyo' });
    await page.goto(link);
    const shown = await page.locator('dl.facts time').textContent();
    expect(shown).toContain('GMT+9');
    expect(shown).toContain(String(new Date(expires + 9 * 3_600_000).getUTCHours()).padStart(2, '0'));
  });

  it('says when an expired link expired in the reader\'s own time zone, and without script in UTC', async () => {
    const { email, link } = await inviteByEmail('tokyo-late');
    const expires = Number((await t.invitation(email)).expires_at);
    clock.advance(TTL + 1000);
    const { page } = await newPage({ timezoneId: 'Asia/Tokyo' });
    await page.goto(link);
    const shown = await page.locator('.lead time').textContent();
    expect(shown).toContain('GMT+9');
    expect(shown).toContain(String(new Date(expires + 9 * 3_600_000).getUTCHours()).padStart(2, '0'));
    const plain = await newPage({ javaScriptEnabled: false });
    await plain.page.goto(link);
    expect(await plain.page.locator('.lead').textContent()).toBe(`Your invitation to Acme expired on ${formatDateInWords(expires)}.`);
  });

  it('fits a phone screen without sideways scrolling', async () => {
    const { link } = await inviteByEmail('phone');
    const { page } = await newPage({ viewport: { width: 360, height: 740 } });
    await page.goto(link);
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    const box = await page.getByRole('button', { name: 'Accept invitation' }).boundingBox();
    expect(box!.width).toBeGreaterThan(250);
    expect(box!.height).toBeGreaterThanOrEqual(44); // a comfortable touch target
    await screenshot(page, `accept-${dialect}-phone`);
  });

  it('an expired link shows the expired page, names whom to ask, and answers 410', async () => {
    const { email, link } = await inviteByEmail('late');
    const row = await t.invitation(email);
    clock.advance(TTL + 1000);
    await settled(t.services);
    const before = await snapshot(t.services);
    const { page, requests } = await newPage();
    const response = await page.goto(link);
    expect(response?.status()).toBe(410);
    expect(await page.locator('h1').textContent()).toBe('This invitation has expired');
    expect(await page.title()).toBe('This invitation has expired · Acme');
    const text = await page.locator('main').textContent();
    // When, in the reader's zone; the UTC words stay in the moment's title.
    expect(await page.locator('.lead time').getAttribute('title')).toBe(formatDateInWords(Number(row.expires_at)));
    // As the browser itself writes that moment (its own locale data, not Node's).
    const local = await page.evaluate((ms) => new Date(ms).toLocaleString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }), Number(row.expires_at));
    expect(text).toContain(local);
    expect(text).toContain('Ask Ada Lovelace to send you a new invitation.');
    expect(await page.locator('form').count()).toBe(0);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `accept-${dialect}-expired`);
    for (const url of requests) expect(new URL(url).origin).toBe(t.url);
    expect(await snapshot(t.services)).toEqual(before);
  });
});
