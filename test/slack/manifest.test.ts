import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/service.js';

const manifest = readFileSync(path.join(ROOT, 'manifest.yml'), 'utf8');

describe('manifest.yml', () => {
  it('asks for exactly the scopes Doorman uses', () => {
    const bot = /scopes:\n\s+bot:\n((?:\s+- .+\n)+)/.exec(manifest)![1]!;
    expect(bot.trim().split('\n').map((l) => l.replace(/^\s*- /, '').trim())).toEqual(['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email']);
  });

  it('declares the three commands with usage hints, and one request URL for everything', () => {
    for (const command of ['/invite', '/invites', '/members']) expect(manifest).toContain(`- command: ${command}\n`);
    expect(manifest.match(/usage_hint:/g)).toHaveLength(2);
    const urls = [...manifest.matchAll(/(?:url|request_url): (\S+)/g)].map((m) => m[1]);
    expect(new Set(urls)).toEqual(new Set(['https://YOUR_HOST/slack/events']));
    expect(urls).toHaveLength(5);
    expect(manifest).toMatch(/bot_events:\n\s+- app_home_opened\n/);
    expect(manifest).toMatch(/socket_mode_enabled: false/);
  });
});
