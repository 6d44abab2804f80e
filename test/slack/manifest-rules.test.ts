import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

/**
 * manifest.yml against Slack's rules, whatever commands and shortcuts it declares. The limits are
 * Slack's manifest schema (github.com/slackapi/manifest-schema, schemas/manifest.schema.1.0.0.json;
 * the same limits are in @slack/web-api's Manifest types); the built-in command names are Slack's
 * own commands, which an app command cannot take over (docs/research/slack-platform.md §4).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const manifest = parseYaml(readFileSync(path.join(ROOT, 'manifest.yml'), 'utf8')) as any;

/** Slack's built-in slash commands. */
const BUILT_IN_COMMANDS = [
  '/active', '/apps', '/archive', '/away', '/call', '/collapse', '/dm', '/dnd', '/expand', '/feed', '/feedback',
  '/help', '/invite', '/join', '/kick', '/leave', '/me', '/msg', '/mute', '/open', '/pro', '/remind', '/remove',
  '/rename', '/search', '/shortcuts', '/shrug', '/status', '/topic', '/who',
];

/** A command Slack accepts: a slash, then 1–31 lowercase letters, digits, `-` or `_` (32 in all). */
const COMMAND = /^\/[a-z0-9][a-z0-9_-]{0,30}$/;
/** A callback_id: 1–255 characters, no whitespace. */
const CALLBACK_ID = /^\S{1,255}$/;

const length = (s: unknown) => (typeof s === 'string' ? [...s].length : 0);
const commands: any[] = manifest?.features?.slash_commands ?? [];
const shortcuts: any[] = manifest?.features?.shortcuts ?? [];
const socketMode = manifest?.settings?.socket_mode_enabled === true;

describe('manifest.yml follows Slack\'s rules', () => {
  it('names each slash command as Slack allows, and none after a built-in command', () => {
    expect(commands.length).toBeLessThanOrEqual(50);
    for (const c of commands) {
      expect(String(c.command), 'lowercase, starts with /, at most 32 characters, no spaces').toMatch(COMMAND);
      expect(BUILT_IN_COMMANDS, `${c.command} is one of Slack's built-in commands`).not.toContain(c.command);
    }
    const names = commands.map((c) => c.command);
    expect(new Set(names).size, 'each command once').toBe(names.length);
  });

  it('gives each slash command a description, a usage hint and escaping within Slack\'s limits', () => {
    for (const c of commands) {
      expect(length(c.description), `${c.command}: description 1–2000 characters`).toBeGreaterThanOrEqual(1);
      expect(length(c.description)).toBeLessThanOrEqual(2000);
      if (c.usage_hint !== undefined) {
        expect(length(c.usage_hint), `${c.command}: usage_hint 1–1000 characters`).toBeGreaterThanOrEqual(1);
        expect(length(c.usage_hint)).toBeLessThanOrEqual(1000);
      }
      if (c.should_escape !== undefined) expect(typeof c.should_escape).toBe('boolean');
      // Over HTTP Slack posts each command to its url; in Socket Mode the urls are not used.
      if (!socketMode) expect(String(c.url), `${c.command}: an https request URL`).toMatch(/^https:\/\//);
    }
  });

  it('declares shortcuts with a valid type, name, callback_id and description', () => {
    expect(shortcuts.length).toBeLessThanOrEqual(10);
    for (const s of shortcuts) {
      expect(['global', 'message']).toContain(s.type);
      expect(length(s.name), `shortcut "${s.name}": name 1–24 characters`).toBeGreaterThanOrEqual(1);
      expect(length(s.name)).toBeLessThanOrEqual(24);
      expect(String(s.callback_id ?? ''), `shortcut "${s.name}": callback_id 1–255 characters without spaces`).toMatch(CALLBACK_ID);
      expect(length(s.description), `shortcut "${s.name}": description 1–150 characters`).toBeGreaterThanOrEqual(1);
      expect(length(s.description)).toBeLessThanOrEqual(150);
    }
    const ids = shortcuts.map((s) => s.callback_id);
    expect(new Set(ids).size, 'each callback_id once').toBe(ids.length);
  });

  it('asks for the commands scope and interactivity that commands and shortcuts need', () => {
    const bot: string[] = manifest?.oauth_config?.scopes?.bot ?? [];
    if (commands.length > 0 || shortcuts.length > 0) expect(bot).toContain('commands');
    if (shortcuts.length > 0) expect(manifest?.settings?.interactivity?.is_enabled).toBe(true);
    for (const scope of bot) expect(scope).toMatch(/^[a-z_]+(?::[a-z_.]+)*$/);
    expect(new Set(bot).size).toBe(bot.length);
  });

  it('keeps the display information within Slack\'s limits', () => {
    const info = manifest?.display_information ?? {};
    expect(length(info.name)).toBeGreaterThanOrEqual(1);
    expect(length(info.name)).toBeLessThanOrEqual(35);
    if (info.description !== undefined) expect(length(info.description)).toBeLessThanOrEqual(140);
    if (info.long_description !== undefined) {
      expect(length(info.long_description), 'long_description 175–4000 characters').toBeGreaterThanOrEqual(175);
      expect(length(info.long_description)).toBeLessThanOrEqual(4000);
    }
    if (info.background_color !== undefined) expect(info.background_color).toMatch(/^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$/);
    const bot = manifest?.features?.bot_user;
    if (bot) expect(length(bot.display_name)).toBeLessThanOrEqual(80);
  });

  it('gives every request URL over HTTPS when not in Socket Mode', () => {
    if (socketMode) return;
    const settings = manifest?.settings ?? {};
    if (settings.interactivity?.is_enabled) expect(String(settings.interactivity.request_url)).toMatch(/^https:\/\//);
    if ((settings.event_subscriptions?.bot_events ?? []).length > 0) expect(String(settings.event_subscriptions.request_url)).toMatch(/^https:\/\//);
  });
});
