import net from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { invitationEmail } from '../../src/mail/templates.js';
import { boundaryMaker, quotedPrintablePart, smtpTransport, wholeMessage, type MailMessage } from '../../src/mail/transport.js';
import { TestSmtpServer } from '../support/smtp.js';

const NOW = Date.UTC(2026, 10, 29, 9, 0);

function message(i: number): MailMessage {
  const email = invitationEmail({ orgName: 'Zoë & Co', inviterName: 'Ada Lövelace', email: `p${i}@example.io`, role: 'member', link: `http://doorman.test/invite?token=${'t'.repeat(43)}${i}`, expiresAt: NOW + 7 * 86_400_000, now: NOW, reason: 'invite' });
  return { from: 'Doorman <no-reply@doorman.test>', to: `p${i}@example.io`, ...email, messageId: `<m${i}@doorman.test>` };
}

/** Counts the client's socket writes (to `port`; the server here is in-process too) while `run` runs. */
async function countWrites(port: number, run: () => Promise<void>): Promise<number> {
  const original = net.Socket.prototype.write;
  let writes = 0;
  net.Socket.prototype.write = function (this: net.Socket, ...args: Parameters<net.Socket['write']>) {
    if (this.remotePort === port) writes++;
    return original.apply(this, args);
  } as net.Socket['write'];
  try {
    await run();
  } finally {
    net.Socket.prototype.write = original;
  }
  return writes;
}

async function chunksOf(stream: Readable): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(chunk as Buffer);
  return out;
}

describe('wholeMessage', () => {
  it('passes a streamed message on as one chunk, byte for byte', async () => {
    const parts = ['Subject: hi\r\n', Buffer.from('\r\n'), 'Zoë ', Buffer.from('body\r\n')];
    const out = await chunksOf(wholeMessage(Readable.from(parts)));
    expect(out).toHaveLength(1);
    expect(out[0]!.toString('utf8')).toBe('Subject: hi\r\n\r\nZoë body\r\n');
  });

  it('passes nothing on for an empty stream, and a failing one fails', async () => {
    expect(await chunksOf(wholeMessage(Readable.from([])))).toEqual([]);
    const failing = new Readable({ read() {} });
    const whole = wholeMessage(failing);
    failing.push('partial');
    failing.destroy(new Error('disk gone'));
    await expect(chunksOf(whole)).rejects.toThrow('disk gone');
  });
});

describe('quotedPrintablePart', () => {
  it('encodes a part as it goes on the wire: its headers, CRLF line ends, non-ASCII, "=" and trailing spaces encoded, long lines soft-broken at 76', () => {
    const text = `Zoë = 1 \nshort\r\n${'x'.repeat(200)}`;
    const part = quotedPrintablePart('text/plain; charset=utf-8', text);
    const [head, body] = part.split('\r\n\r\n') as [string, string];
    expect(head).toBe('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable');
    const lines = body.split('\r\n');
    expect(lines[0]).toBe('Zo=C3=AB =3D 1=20');
    expect(lines[1]).toBe('short');
    expect(lines.slice(2).every((line) => line.length <= 76)).toBe(true);
    expect(lines.slice(2, -1).every((line) => line.endsWith('='))).toBe(true);
    expect(lines.slice(2).join('').replace(/=$/gm, '').replace(/=/g, '')).toBe('x'.repeat(200));
    expect(body).not.toMatch(/[^\r]\n/);
  });
});

describe('boundaryMaker', () => {
  it('gives each message its own base boundary from one random prefix per transport, drawing no random bytes per message', () => {
    const next = boundaryMaker();
    const bases = Array.from({ length: 1_000 }, () => next());
    expect(new Set(bases).size).toBe(1_000);
    const prefix = bases[0]!.slice(0, 32);
    expect(prefix).toMatch(/^[0-9a-f]{32}$/);
    expect(bases.every((b) => b.startsWith(prefix))).toBe(true);
    expect(boundaryMaker()().slice(0, 32)).not.toBe(prefix);
  });
});

describe('smtpTransport', () => {
  let smtp: TestSmtpServer;
  beforeEach(async () => {
    smtp = await TestSmtpServer.create();
  });
  afterEach(async () => {
    await smtp.stop();
  });

  it('sends each message whole, in one socket write; it reads as the message nodemailer composes itself', async () => {
    const transport = smtpTransport(smtp.url, { maxConnections: 1 });
    const plain = nodemailer.createTransport({ url: smtp.url, pool: true, maxConnections: 1 } as Parameters<typeof nodemailer.createTransport>[0]);
    try {
      // Connections opened (and greeted) before counting.
      await transport.send(message(0));
      await plain.sendMail(message(1));
      const ours = await countWrites(smtp.port, () => transport.send(message(2)));
      const theirs = await countWrites(smtp.port, async () => void (await plain.sendMail(message(3))));
      // MAIL FROM, RCPT TO, DATA, the message, the closing dot.
      expect(ours).toBe(5);
      expect(theirs).toBeGreaterThan(ours);
      await smtp.waitFor(4);
      const [, , whole, streamed] = smtp.received;
      expect(whole!.subject).toBe('Ada Lövelace invited you to join Zoë & Co');
      expect(whole!.text.replace(/\r\n/g, '\n')).toBe(message(2).text);
      expect(whole!.html.replace(/\r\n/g, '\n')).toBe(message(2).html);
      expect(whole!.messageId).toBe('<m2@doorman.test>');
      expect(whole!.envelope).toEqual({ from: 'no-reply@doorman.test', to: ['p2@example.io'] });
      // Its own boundary, not the one of the message before it.
      const boundaryOf = (raw: string) => /boundary="([^"]+)"/.exec(raw)?.[1];
      expect(boundaryOf(whole!.raw)).toMatch(/^--_NmP-[0-9a-f]{32}[0-9a-z]+-Part_1$/);
      expect(boundaryOf(whole!.raw)).not.toBe(boundaryOf(smtp.received[0]!.raw));
      // The same headers as nodemailer's own composition (but the boundary and the date), the same
      // parts, and what they decode to; only where quoted-printable lines are broken may differ.
      const headers = (raw: string) => raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/--_NmP-[\w-]+/g, 'BOUNDARY').replace(/^Date: .*$/m, '').replace(/[0-9]/g, '#');
      expect(headers(whole!.raw)).toBe(headers(streamed!.raw));
      const partHeaders = (raw: string) => raw.match(/^Content-(Type|Transfer-Encoding): .*$/gm);
      expect(partHeaders(whole!.raw)).toEqual(partHeaders(streamed!.raw));
      expect(partHeaders(whole!.raw)).toEqual([
        expect.stringMatching(/^Content-Type: multipart\/alternative;/),
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
      ]);
      expect(streamed!.text).toBe(message(3).text.replace(/\n/g, '\r\n'));
      expect(whole!.raw.split('\r\n').every((line) => line.length <= 76)).toBe(true);
      expect(whole!.raw).not.toMatch(/[^\r]\n/);
    } finally {
      transport.close();
      plain.close();
    }
  });
});
