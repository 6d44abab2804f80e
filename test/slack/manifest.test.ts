import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { BOT_SCOPES, slackManifest } from '../../src/slack/manifest.js';
import { ROOT } from '../support/service.js';

const manifest = readFileSync(path.join(ROOT, 'manifest.yml'), 'utf8');

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await runCli(args, { write: (s) => void (out += s) }, { write: (s) => void (err += s) });
    return { code, out, err };
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

describe('manifest.yml', () => {
  it('is exactly what `doorman manifest --host YOUR_HOST` prints for the defaults', async () => {
    const printed = await cli(['manifest', '--host', 'YOUR_HOST']);
    expect(printed.code).toBe(0);
    expect(printed.out).toBe(manifest);
  });

  it('asks for exactly the scopes the code calls, and no im:write', () => {
    const bot = /scopes:\n\s+bot:\n((?:\s+- .+\n)+)/.exec(manifest)![1]!;
    expect(bot.trim().split('\n').map((l) => l.replace(/^\s*- /, '').trim())).toEqual([...BOT_SCOPES]);
    expect(BOT_SCOPES).toEqual(['commands', 'chat:write', 'users:read', 'users:read.email', 'files:read']);
  });

  it("the README's set-up names every scope the manifest asks for", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const sentence = /Doorman asks only for([\s\S]+?)\.\n/.exec(readme)![1]!;
    expect([...sentence.matchAll(/`([^`]+)`/g)].map((m) => m[1])).toEqual([...BOT_SCOPES]);
  });

  it('declares one namespaced command, the Invite people shortcut, and one request URL for everything', () => {
    expect(manifest.match(/- command: /g)).toHaveLength(1);
    expect(manifest).toContain('- command: /doorman\n');
    // Mentions, channels and links arrive in Slack's markup (<@U…>, <mailto:…>), which Doorman reads.
    expect(manifest).toContain('should_escape: true');
    expect(manifest).toMatch(/shortcuts:\n\s+- name: Invite people\n\s+type: global\n\s+callback_id: invite_people\n/);
    const urls = [...manifest.matchAll(/(?:url|request_url): (\S+)/g)].map((m) => m[1]);
    expect(new Set(urls)).toEqual(new Set(['https://YOUR_HOST/slack/events']));
    expect(urls).toHaveLength(3);
    expect(manifest).toMatch(/bot_events:\n\s+- app_home_opened\n/);
    expect(manifest).toMatch(/socket_mode_enabled: false/);
  });

  it('follows SLACK_COMMAND, and for Socket Mode leaves out every request URL', async () => {
    const custom = await cli(['manifest', '--host', 'invites.acme.test'], { SLACK_COMMAND: '/acme-invites' });
    expect(custom.out).toContain('- command: /acme-invites\n      url: https://invites.acme.test/slack/events');
    expect(custom.out).not.toContain('/doorman');
    const socket = slackManifest({ host: 'x', command: '/doorman', socketMode: true });
    expect(socket).not.toMatch(/url:/);
    expect(socket).toMatch(/socket_mode_enabled: true/);
    const refused = await cli(['manifest', '--host', 'x'], { SLACK_COMMAND: '/invite' });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/SLACK_COMMAND: \/invite is one of Slack's built-in commands/);
    expect((await cli(['manifest'])).err).toMatch(/--host HOST|--socket/);
  });
});
