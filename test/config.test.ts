import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseDuration } from '../src/config.js';
import { resolveAppSecret } from '../src/app-secret.js';
import { ConfigError } from '../src/shared/errors.js';
import { configRefusal } from './support/config.js';

const SECRET = 'a-configured-secret-that-is-long-enough-0123456789';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'doorman-config-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function load(env: Record<string, string>) {
  return loadConfig({ DATA_DIR: dataDir, APP_SECRET: SECRET, ...env });
}

function configError(env: Record<string, string>): ConfigError {
  return configRefusal(() => load(env), JSON.stringify(env));
}

describe('loadConfig defaults (README Configuration table)', () => {
  it('match the documented defaults', () => {
    const config = load({});
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.dataDir).toBe(dataDir);
    expect(config.database).toEqual({ client: 'sqlite', filename: path.join(dataDir, 'doorman.sqlite3'), setting: 'DATA_DIR' });
    expect(config.smtpUrl).toBeUndefined();
    expect(config.mailFrom).toBe('Doorman <no-reply@localhost>');
    expect(config.inviteTtlMs).toBe(7 * 86_400_000);
    expect(config.expirySweepIntervalMs).toBe(60_000);
    expect(config.slack).toEqual({ botToken: undefined, signingSecret: undefined, appToken: undefined, apiUrl: undefined, adminUserIds: [], command: '/doorman' });
  });

  it('DATA_DIR defaults to ./data', () => {
    const config = loadConfig({ APP_SECRET: SECRET });
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.database).toEqual({ client: 'sqlite', filename: path.resolve('./data/doorman.sqlite3'), setting: 'DATA_DIR' });
  });

  it('SLACK_COMMAND names the one slash command', () => {
    expect(load({ SLACK_COMMAND: '/acme-invites' }).slack.command).toBe('/acme-invites');
    expect(configError({ SLACK_COMMAND: '/invite' }).message).toBe("SLACK_COMMAND: /invite is one of Slack's built-in commands; choose a name of your own, like /doorman or /acme-invites");
  });

  it('PUBLIC_URL defaults to the chosen port', () => {
    expect(load({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(load({ PUBLIC_URL: 'https://doorman.example.com/' }).publicUrl).toBe('https://doorman.example.com');
  });

  it('PUBLIC_URL is used as it reads once parsed, so links made from it work as typed', () => {
    for (const typed of ['https://doorman.example.com\\', 'https:doorman.example.com', 'https://Doorman.Example.com:443', 'HTTPS://doorman.example.com']) {
      expect(load({ PUBLIC_URL: typed }).publicUrl, typed).toBe('https://doorman.example.com');
    }
    expect(load({ PUBLIC_URL: 'http://doorman.example.com:8080/' }).publicUrl).toBe('http://doorman.example.com:8080');
  });

  it('PORT=0 needs PUBLIC_URL: links cannot name a port picked at start', () => {
    expect(configError({ PORT: '0' }).message).toBe('PORT: 0 takes any free port, which invitation links cannot name: set PUBLIC_URL too (the address people reach Doorman at)');
    expect(load({ PORT: '0', PUBLIC_URL: 'https://doorman.example.com' }).port).toBe(0);
  });

  it('takes valid values', () => {
    const config = load({
      DATABASE_URL: 'postgres://doorman@db.internal:5432/doorman',
      SMTP_URL: 'smtp://user:pass@mail.example.com:587',
      MAIL_FROM: 'Acme <hello@acme.io>',
      SLACK_ADMIN_USER_IDS: ' U024BE7LH, W123ABC ',
    });
    expect(config.database).toEqual({ client: 'pg', connectionString: 'postgres://doorman@db.internal:5432/doorman' });
    expect(config.smtpUrl).toBe('smtp://user:pass@mail.example.com:587');
    expect(config.mailFrom).toBe('Acme <hello@acme.io>');
    expect(config.slack.adminUserIds).toEqual(['U024BE7LH', 'W123ABC']);
    expect(load({ DATABASE_URL: 'sqlite:///srv/doorman/db.sqlite3' }).database).toEqual({ client: 'sqlite', filename: '/srv/doorman/db.sqlite3', setting: 'DATABASE_URL' });
  });

  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
  ])('INVITE_TTL=%s', (value, ms) => {
    expect(load({ INVITE_TTL: value }).inviteTtlMs).toBe(ms);
    expect(parseDuration(value)).toBe(ms);
  });

  it('a PostgreSQL URL may leave the host to a socket or PGHOST', () => {
    for (const url of ['postgresql:///doorman?host=/var/run/postgresql', 'postgres:///doorman']) expect(load({ DATABASE_URL: url }).database.client).toBe('pg');
  });

  it('EXPIRY_SWEEP_INTERVAL accepts 1s upward', () => {
    expect(load({ EXPIRY_SWEEP_INTERVAL: '1s' }).expirySweepIntervalMs).toBe(1000);
    expect(load({ EXPIRY_SWEEP_INTERVAL: '5m' }).expirySweepIntervalMs).toBe(300_000);
  });
});

describe('bad values throw ConfigError naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['INVITE_TTL', '7x'],
    ['INVITE_TTL', '7'],
    ['INVITE_TTL', 'd7'],
    ['INVITE_TTL', '0s'],
    ['EXPIRY_SWEEP_INTERVAL', '500ms'],
    ['EXPIRY_SWEEP_INTERVAL', '0s'],
    // Past what a timer holds (Node would fire it at once), or past a year.
    ['EXPIRY_SWEEP_INTERVAL', '25d'],
    ['SMTP_TIMEOUT', '30d'],
    ['INVITE_TTL', '366d'],
    ['INVITE_TTL', '100000000d'],
    ['EXPIRY_REMINDER', '400d'],
    ['AUDIT_CHANNEL', 'audit'],
    ['AUDIT_CHANNEL', '#audit'],
    ['SLACK_APPROVAL_CHANNEL', 'approvals'],
    ['WEBHOOK_URLS', 'ftp://hooks.example.com/in'],
    ['DATABASE_URL', 'mysql://root@localhost/doorman'],
    ['DATABASE_URL', 'sqlite://relative/path.sqlite3'],
    ['SMTP_URL', 'http://mail.example.com'],
    ['SMTP_URL', 'not a url'],
    ['SMTP_URL', 'smtp://'],
    // Half a Slack set-up: most likely a misspelled SLACK_BOT_TOKEN.
    ['SLACK_BOT_TOKEN', { SLACK_SIGNING_SECRET: 'a-signing-secret' }],
    ['SLACK_BOT_TOKEN', { SLACK_APP_TOKEN: 'xapp-1-abc' }],
    ['PUBLIC_URL', 'ftp://doorman.example.com'],
    ['SIGN_IN_URL', 'javascript:alert(1)'],
    ['SIGN_IN_URL', 'app.acme.test/login'],
    ['PUBLIC_URL', 'https://example.com/doorman'],
    ['PUBLIC_URL', 'https://doorman.example.com/?a=1'],
    ['PUBLIC_URL', 'https://user:secret@doorman.example.com'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', '0.0.0.0/0'],
    ['TRUST_PROXY', '10.0.0.1, ::/0'],
    ['MAIL_FROM', 'nobody'],
    ['SLACK_ADMIN_USER_IDS', 'U024BE7LH,jane'],
    ['SLACK_COMMAND', '/invite'],
    ['SLACK_COMMAND', '/remind'],
    ['SLACK_COMMAND', 'doorman'],
    ['SLACK_COMMAND', '/Doorman'],
    ['SLACK_COMMAND', '/door man'],
    ['SLACK_COMMAND', `/${'x'.repeat(40)}`],
    ['APP_SECRET', 'too-short'],
    ['METRICS', 'yes'],
    ['METRICS', 'true'],
    ['METRICS', 'short-token-15ch'.slice(0, 15)],
    ['METRICS', 'a token with spaces in it'],
  ] as Array<[string, string | Record<string, string>]>)('%s=%s', (variable, value) => {
    const error = configError(typeof value === 'string' ? { [variable]: value } : value);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).not.toContain('\n');
  });

  it('does not echo credentials from a rejected URL', () => {
    const error = configError({ DATABASE_URL: 'mysql://root:hunter2@localhost/doorman' });
    expect(error.message).not.toContain('hunter2');
    // A password holding an @ or a / is hidden whole.
    for (const url of ['mysql://root:hun@ter2@localhost/doorman', 'mysql://root:hun/ter2@localhost/doorman']) expect(configError({ DATABASE_URL: url }).message).not.toContain('ter2');
    expect(configError({ PUBLIC_URL: 'https://user:hunter2@doorman.example.com' }).message).not.toContain('hunter2');
  });

  it('a password with # or / written as it is: refused with how to encode it, never read as a host made of part of the password', () => {
    for (const [variable, value] of [
      ['DATABASE_URL', 'postgres://doorman:p@ss#w@127.0.0.1:5432/doorman'],
      ['SMTP_URL', 'smtp://AKIAEXAMPLE:BPq/9w+Zx@email-smtp.eu-west-1.amazonaws.com:587'],
      // Read as host u, port 5432 and a path holding the rest.
      ['DATABASE_URL', 'postgres://u:5432/9w+Zx@db.internal/doorman'],
    ] as const) {
      const error = configError({ [variable]: value });
      expect(error.variable).toBe(variable);
      expect(error.message).toContain('percent-encode @ / ? # in the user name and password');
      for (const part of ['p@ss', 'ss#w', 'BPq', '9w+Zx']) expect(error.message).not.toContain(part);
    }
    // Encoded, it is taken; a browser link's fragment (a single-page app's route) is its own business.
    expect(load({ DATABASE_URL: 'postgres://doorman:p%40ss%23w@127.0.0.1:5432/doorman' }).database.client).toBe('pg');
    expect(load({ SIGN_IN_URL: 'https://admin.example.com/#/login' }).signInUrl).toBe('https://admin.example.com/#/login');
  });

  it('refuses a webhook URL with a user name or password (requests cannot send them), without echoing them', () => {
    const error = configError({ WEBHOOK_URLS: 'https://doorman:s3cret@hooks.example.com/in', WEBHOOK_SECRET: 'whsec_' + Buffer.alloc(32, 1).toString('base64') });
    expect(error.variable).toBe('WEBHOOK_URLS');
    expect(error.message).toContain('user name or password');
    expect(error.message).not.toContain('s3cret');
  });

  it('takes the longest durations a timer holds, and a name with a comma in MAIL_FROM', () => {
    expect(load({ EXPIRY_SWEEP_INTERVAL: '24d', SMTP_TIMEOUT: '24d', INVITE_TTL: '365d', EXPIRY_REMINDER: '365d' })).toMatchObject({ expirySweepIntervalMs: 24 * 86_400_000, inviteTtlMs: 365 * 86_400_000 });
    expect(load({ MAIL_FROM: 'Acme, Inc. <no-reply@acme.com>', AUDIT_CHANNEL: 'C024BE91L' })).toMatchObject({ mailFrom: 'Acme, Inc. <no-reply@acme.com>', auditChannel: 'C024BE91L' });
  });

  it('EXPIRY_REMINDER off is 0, bare or with a unit as the other durations are written; other durations of 0 are too short', () => {
    for (const off of ['0', '0s', '0h', ' 0d ']) expect(load({ EXPIRY_REMINDER: off }).expiryReminderMs, off).toBe(0);
    expect(() => load({ EXPIRY_SWEEP_INTERVAL: '0s' })).toThrow(/EXPIRY_SWEEP_INTERVAL: "0s" is too short/);
  });
});

describe('METRICS', () => {
  it('is off by default and with "off"; "on" opens GET /metrics; a token of 16 or more characters guards it', () => {
    expect(load({}).metrics).toBeUndefined();
    expect(load({ METRICS: 'off' }).metrics).toBeUndefined();
    expect(load({ METRICS: ' OFF ' }).metrics).toBeUndefined();
    expect(load({ METRICS: 'on' }).metrics).toEqual({});
    expect(load({ METRICS: 'On' }).metrics).toEqual({});
    expect(load({ METRICS: 'scrape-token-0123' }).metrics).toEqual({ token: 'scrape-token-0123' });
    expect(load({ METRICS: 'AbC+/def_ghi~jkl.mn==' }).metrics).toEqual({ token: 'AbC+/def_ghi~jkl.mn==' });
  });

  it('a refused value is not echoed back (it may be a secret)', () => {
    const error = configError({ METRICS: 'secret token 0123456789' });
    expect(error.variable).toBe('METRICS');
    expect(error.message).not.toContain('secret token');
    expect(error.message).toContain('at least 16 characters');
  });
});

describe('APP_SECRET', () => {
  it('is generated once into DATA_DIR with mode 0600 and reused', () => {
    const first = loadConfig({ DATA_DIR: dataDir });
    expect(first.appSecret.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dataDir, 'app-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.appSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadConfig({ DATA_DIR: dataDir });
    expect(second.appSecret).toBe(first.appSecret);
    expect(resolveAppSecret({}, dataDir)).toBe(first.appSecret);
    // Another data directory gets another secret.
    const otherDir = mkdtempSync(path.join(tmpdir(), 'doorman-config-'));
    try {
      expect(resolveAppSecret({}, otherDir)).not.toBe(first.appSecret);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('a generated secret that cannot be read (a directory in its place, another user\'s file) is named in one line, DATA_DIR', () => {
    mkdirSync(path.join(dataDir, 'app-secret'));
    expect(() => loadConfig({ DATA_DIR: dataDir })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dataDir })).toThrow(/^DATA_DIR: cannot read the generated secret in .*app-secret: EISDIR/);
  });

  it('is generated whole: no draft is left beside it', () => {
    const secret = resolveAppSecret({}, dataDir);
    expect(readdirSync(dataDir)).toEqual(['app-secret']);
    expect(readFileSync(path.join(dataDir, 'app-secret'), 'utf8')).toBe(`${secret}\n`);
  });

  it('is taken from the environment when set, and nothing is written', () => {
    expect(load({}).appSecret).toBe(SECRET);
    expect(() => statSync(path.join(dataDir, 'app-secret'))).toThrow();
  });

  it('is refused missing when NODE_ENV=production, even with a generated one on disk', () => {
    expect(() => loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production' })).toThrow(ConfigError);
    try {
      loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production' });
    } catch (error) {
      expect((error as ConfigError).variable).toBe('APP_SECRET');
    }
    loadConfig({ DATA_DIR: dataDir }); // generates one
    expect(() => loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production' })).toThrow(/APP_SECRET/);
    expect(loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production', APP_SECRET: SECRET }).appSecret).toBe(SECRET);
    // Written as env files leave it, padded: still production.
    expect(() => loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production ' })).toThrow(/^APP_SECRET: is required when NODE_ENV=production/);
  });

  it('a DATA_DIR that is a file is named, in one line', () => {
    const file = path.join(dataDir, 'not-a-dir');
    writeFileSync(file, 'x');
    expect(() => loadConfig({ DATA_DIR: file })).toThrow(new ConfigError('DATA_DIR', `${file} is not a directory`));
  });

  it('a damaged generated secret stops start-up instead of silently changing every link', () => {
    writeFileSync(path.join(dataDir, 'app-secret'), 'short\n');
    expect(() => loadConfig({ DATA_DIR: dataDir })).toThrow(ConfigError);
  });
});
