import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { invitationEmail } from '../../src/mail/templates.js';
import { fileTransport, smtpTransport, type MailMessage } from '../../src/mail/transport.js';
import { TestSmtpServer } from '../support/smtp.js';

const NOW = Date.UTC(2026, 10, 29, 9, 0);

function message(i: number): MailMessage {
  const email = invitationEmail({ orgName: 'Zoë & Co', inviterName: 'Ada Lövelace', email: `p${i}@example.io`, role: 'member', link: `http://doorman.test/invite?token=${'t'.repeat(43)}${i}`, expiresAt: NOW + 7 * 86_400_000, now: NOW, reason: 'invite' });
  return { from: 'Doorman <no-reply@doorman.test>', to: `p${i}@example.io`, ...email, messageId: `<m${i}@doorman.test>` };
}

describe('smtpTransport', () => {
  let smtp: TestSmtpServer;
  beforeEach(async () => {
    smtp = await TestSmtpServer.create();
  });
  afterEach(async () => {
    await smtp.stop();
  });

  it('sends the text and HTML parts as composed, non-ASCII intact, with the queued email\'s Message-ID', async () => {
    const transport = smtpTransport(smtp.url, { maxConnections: 1 });
    try {
      await transport.send(message(1));
      await smtp.waitFor(1);
      const [mail] = smtp.received;
      expect(mail!.subject).toBe('Ada Lövelace invited you to join Zoë & Co');
      expect(mail!.text.replace(/\r\n/g, '\n')).toBe(message(1).text);
      expect(mail!.html.replace(/\r\n/g, '\n')).toBe(message(1).html);
      expect(mail!.messageId).toBe('<m1@doorman.test>');
      expect(mail!.envelope).toEqual({ from: 'no-reply@doorman.test', to: ['p1@example.io'] });
      expect(mail!.raw.match(/^Content-Type: [^;\r\n]+/gm)).toEqual(['Content-Type: multipart/alternative', 'Content-Type: text/plain', 'Content-Type: text/html']);
    } finally {
      transport.close();
    }
  });
});

describe('fileTransport', () => {
  it('writes each email as an .eml file only the service\'s user can read (it holds a live link)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'doorman-eml-'));
    const outbox = path.join(dir, 'outbox');
    const transport = fileTransport(outbox, createLogger('silent'));
    try {
      await transport.send({ ...message(2), link: 'http://doorman.test/invite?token=x' });
      const files = readdirSync(outbox);
      expect(files).toHaveLength(1);
      expect(statSync(outbox).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(outbox, files[0]!)).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(outbox, files[0]!), 'utf8')).toContain('X-Doorman-Accept-Link: http://doorman.test/invite?token=x');
    } finally {
      transport.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
