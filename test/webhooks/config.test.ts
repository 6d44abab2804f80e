import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/shared/errors.js';
import { newWebhookSecret } from '../../src/webhooks/secrets.js';
import { TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'doorman-config-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: dataDir, APP_SECRET: 'a-configured-secret-that-is-long-enough-0123456789', ...env });

function problem(env: Record<string, string>): { variable: string; message: string } {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return { variable: (error as ConfigError).variable, message: (error as Error).message };
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('WEBHOOK_URLS and WEBHOOK_SECRET', () => {
  it('are off by default', () => {
    expect(load({}).webhooks).toEqual({ urls: [], secret: undefined });
  });

  it('take a comma list of http(s) URLs with a whsec_ secret', () => {
    const config = load({ WEBHOOK_URLS: ' https://hooks.example.com/doorman , http://10.0.0.5:8080/in ', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });
    expect(config.webhooks).toEqual({ urls: ['https://hooks.example.com/doorman', 'http://10.0.0.5:8080/in'], secret: TEST_WEBHOOK_SECRET });
    expect(load({ WEBHOOK_URLS: 'https://a.example', WEBHOOK_SECRET: newWebhookSecret() }).webhooks.urls).toEqual(['https://a.example']);
  });

  it('take several secrets, space-separated, while one is rotated; each is checked', () => {
    const both = `${newWebhookSecret()}  ${TEST_WEBHOOK_SECRET}`;
    expect(load({ WEBHOOK_URLS: 'https://a.example', WEBHOOK_SECRET: both }).webhooks.secret).toBe(both);
    const found = problem({ WEBHOOK_URLS: 'https://a.example', WEBHOOK_SECRET: `${TEST_WEBHOOK_SECRET} whsec_short` });
    expect(found.message).toMatch(/^WEBHOOK_SECRET: secret 2: the key after whsec_ must be at least 24 bytes|^WEBHOOK_SECRET: secret 2: the part after whsec_ is not valid base64/);
  });

  it.each([
    [{ WEBHOOK_URLS: 'hooks.example.com' }, 'WEBHOOK_URLS', /"hooks\.example\.com" is not an http:\/\/ or https:\/\/ URL/],
    [{ WEBHOOK_URLS: 'https://a.example, ftp://b.example' }, 'WEBHOOK_URLS', /ftp:\/\/b\.example/],
    [{ WEBHOOK_URLS: 'https://a.example/x, nope' }, 'WEBHOOK_URLS', /"nope"/],
    [{ WEBHOOK_URLS: 'https://user:pw@a.example/x' }, 'WEBHOOK_URLS', /"https:\/\/\*\*\*@a\.example\/x" carries a user name or password/],
    [{ WEBHOOK_URLS: 'https://a.example,https://a.example' }, 'WEBHOOK_URLS', /the same URL twice/],
    [{ WEBHOOK_URLS: 'https://a.example' }, 'WEBHOOK_SECRET', /is required with WEBHOOK_URLS/],
    [{ WEBHOOK_URLS: 'https://a.example', WEBHOOK_SECRET: 'not-a-whsec' }, 'WEBHOOK_SECRET', /must start with whsec_/],
    [{ WEBHOOK_URLS: 'https://a.example', WEBHOOK_SECRET: 'whsec_***not base64***' }, 'WEBHOOK_SECRET', /not valid base64/],
    [{ WEBHOOK_URLS: 'https://a.example', WEBHOOK_SECRET: `whsec_${Buffer.alloc(16).toString('base64')}` }, 'WEBHOOK_SECRET', /at least 24 bytes/],
    [{ WEBHOOK_SECRET: 'whsec_short' }, 'WEBHOOK_SECRET', /whsec_/],
  ])('%j is refused, naming %s', (env, variable, message) => {
    const found = problem(env);
    expect(found.variable).toBe(variable);
    expect(found.message).toMatch(new RegExp(`^${variable}: `));
    expect(found.message).toMatch(message);
    expect(found.message).not.toContain('pw@');
  });
});
