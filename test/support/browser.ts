import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './service.js';

/** Debian's Chromium, driven headless by playwright-core (no downloaded browsers). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** Screenshots land in test-artifacts/ (gitignored; CI uploads it). */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Every URL the page asked for, to prove it stays on its own origin. */
export function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (req) => urls.push(req.url()));
  return urls;
}

/** Basic accessibility checks a screen-reader user depends on. Returns the problems found. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const lang = document.documentElement.getAttribute('lang');
    if (!lang) problems.push('<html> has no lang attribute');
    if (!document.title.trim()) problems.push('the page has no <title>');
    if (document.querySelectorAll('h1').length !== 1) problems.push('the page should have exactly one <h1>');
    if (!document.querySelector('main')) problems.push('no <main> landmark');
    if (!document.querySelector('meta[name="viewport"]')) problems.push('no viewport meta (mobile)');
    const inputs = Array.from(document.querySelectorAll<HTMLInputElement>('input, select, textarea')).filter((el) => el.type !== 'hidden');
    for (const input of inputs) {
      const id = input.id;
      const label = id ? document.querySelector(`label[for="${CSS.escape(id)}"]`) : null;
      const wrapped = input.closest('label');
      const aria = input.getAttribute('aria-label') || input.getAttribute('aria-labelledby');
      if (!(label?.textContent?.trim() || wrapped?.textContent?.trim() || aria)) problems.push(`input ${input.name || id || '?'} has no label`);
      for (const ref of (input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean)) {
        if (!document.getElementById(ref)) problems.push(`input ${input.name} describes itself by a missing #${ref}`);
      }
    }
    const ids = Array.from(document.querySelectorAll('[id]')).map((el) => el.id);
    const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (dupes.length) problems.push(`duplicate ids: ${dupes.join(', ')}`);
    for (const button of Array.from(document.querySelectorAll('button'))) {
      if (!button.textContent?.trim() && !button.getAttribute('aria-label')) problems.push('a button has no name');
    }
    return problems;
  });
}
