import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, createBrotliDecompress } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './service.js';

/**
 * The browser tests drive Chromium headless with playwright-core (which downloads no browsers):
 * CHROMIUM_PATH if set, else Debian's /usr/bin/chromium when it is installed, else the Chromium
 * that the npm package @sparticuz/chromium ships (unpacked on first use, see packagedChromium).
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Flags for any Chromium here: no GPU, and no calls home (the machine has no network). */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

interface Executable {
  path: string;
  env?: Record<string, string | undefined>;
}

let packaged: Promise<Executable> | undefined;

/** The Chromium the browser tests launch. */
export async function chromiumExecutable(): Promise<Executable> {
  if (process.env.CHROMIUM_PATH) {
    if (!existsSync(process.env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist (unset it to use /usr/bin/chromium or the packaged Chromium)`);
    return { path: process.env.CHROMIUM_PATH };
  }
  if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  packaged ??= packagedChromium();
  return packaged;
}

export async function launchBrowser(): Promise<Browser> {
  const executable = await chromiumExecutable();
  return chromium.launch({
    executablePath: executable.path,
    headless: true,
    args: ARGS,
    ...(executable.env ? { env: executable.env } : {}),
  });
}

/**
 * Chromium from the npm package @sparticuz/chromium: a headless-shell build that needs only the
 * C library plus NSS, NSPR and expat, which the package ships too (its al2023 archive), with Open
 * Sans as its font. The package's own executablePath() unpacks into the root of tmpdir, with no
 * guard against two processes unpacking at once; this unpacks into a folder of its own per
 * version, completely or not at all (built aside, then renamed into place), and reuses it.
 * The browser gets the shipped libraries on LD_LIBRARY_PATH and a fontconfig file of its own, so
 * it runs the same here as on a machine without Debian's chromium packages.
 */
async function packagedChromium(): Promise<Executable> {
  const pkg = packageRoot('@sparticuz/chromium');
  const version = (JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const bin = path.join(pkg, 'bin');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = path.join(tmpdir(), `doorman-chromium-${version}-${uid}`);
  const executable = path.join(dir, 'chromium');
  const manifest = path.join(dir, 'manifest.json');
  const intact = () => {
    try {
      const { size } = JSON.parse(readFileSync(manifest, 'utf8')) as { size: number };
      return statSync(executable).size === size;
    } catch {
      return false;
    }
  };
  if (!intact()) {
    cleanPartials(dir);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true }); // damaged (a tmp cleaner?)
    const partial = `${dir}.partial-${process.pid}-${Date.now()}`;
    try {
      mkdirSync(partial, { recursive: true });
      await pipeline(createReadStream(path.join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(path.join(partial, 'chromium'), { mode: 0o755 }));
      untar(brotliDecompressSync(readFileSync(path.join(bin, 'al2023.tar.br'))), partial); // lib/*.so
      untar(brotliDecompressSync(readFileSync(path.join(bin, 'fonts.tar.br'))), partial); // fonts/, fonts.conf
      writeFileSync(
        path.join(partial, 'fonts.conf'),
        `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${path.join(dir, 'fonts')}</dir>\n  <cachedir>${path.join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
      );
      writeFileSync(path.join(partial, 'manifest.json'), JSON.stringify({ package: `@sparticuz/chromium@${version}`, size: statSync(path.join(partial, 'chromium')).size }));
      renameSync(partial, dir);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      // Another process may have put a complete copy in place first.
      if (!intact()) throw error;
    }
  }
  const libs = path.join(dir, 'lib');
  return {
    path: executable,
    env: {
      ...process.env,
      LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_FILE: path.join(dir, 'fonts.conf'),
    },
  };
}

/** The folder of an installed package (its exports hide package.json). */
function packageRoot(name: string): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve(name));
  while (dir !== path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === name) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the folder of ${name}`);
}

/** Removes half-unpacked copies left by processes that died while unpacking. */
function cleanPartials(dir: string): void {
  const prefix = `${path.basename(dir)}.partial-`;
  for (const name of readdirSync(path.dirname(dir))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    let running = false;
    try {
      process.kill(pid, 0);
      running = true;
    } catch (error) {
      running = (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!running) rmSync(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
}

/** Extracts the regular files and folders of a ustar archive (all that the package's archives hold). */
function untar(archive: Buffer, into: string): void {
  const field = (block: Buffer, start: number, length: number) => block.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
  for (let offset = 0; offset + 512 <= archive.length; ) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const prefix = field(header, 345, 155);
    const name = path.posix.join(prefix, field(header, 0, 100));
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const mode = Number.parseInt(field(header, 100, 8).trim() || '644', 8);
    const type = field(header, 156, 1) || '0';
    const target = path.join(into, name);
    if (!target.startsWith(into + path.sep)) throw new Error(`unsafe path in archive: ${name}`);
    if (type === '5') mkdirSync(target, { recursive: true });
    else if (type === '0') {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, archive.subarray(offset + 512, offset + 512 + size), { mode: mode & 0o777 });
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
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
