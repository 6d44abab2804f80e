import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import type { Logger } from 'pino';

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per queued email, so a receiving server can spot the rare repeat after a crash. */
  messageId: string;
  /** Logged by the file transport so a newcomer can open it without a mail client. */
  link?: string;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'file';
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * A composed message, gathered into one buffer: nodemailer streams a message to the socket piece by
 * piece (each header block, each encoded part: 14 writes per invitation email, counting the SMTP
 * commands); whole, it goes in one (5 per email). On this VM a socket write costs ~25 µs of CPU, which
 * made the writes the largest single cost of sending. An invitation email is ~3 KB and has no
 * attachments, so holding it whole costs nothing worth counting. (A post-processing function rather
 * than a transform: a transform is one more stage in nodemailer's stream pipeline, whose teardown
 * costs more than the gathering.)
 */
export function wholeMessage(input: Readable): Readable {
  const output = new Readable({ read() {} });
  const chunks: Buffer[] = [];
  let size = 0;
  input.on('data', (chunk: Buffer | string) => {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buffer);
    size += buffer.length;
  });
  input.once('end', () => {
    if (size > 0) output.push(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    output.push(null);
  });
  input.once('error', (error) => output.destroy(error));
  return output;
}

/**
 * The shared part of each message's MIME boundaries: random once per transport, then a counter.
 * Left to itself nodemailer draws 8 random bytes for every MIME node (3 per invitation email), and a
 * draw cost ~20 µs of CPU on this VM: ~7% of sending an email. A boundary only has to be unique within
 * its message and absent from the content, which a 128-bit random prefix is.
 */
export function boundaryMaker(): () => string {
  const prefix = randomBytes(16).toString('hex');
  let n = 0;
  return () => `${prefix}${(n++).toString(36)}`;
}

/**
 * A text part (its headers and its quoted-printable body) as it goes on the wire, handed to
 * nodemailer as `raw`: encoded with nodemailer's own `encode` and `wrap`, but in one call instead of
 * through an encoder stream and a stream pipeline per part, whose setup and teardown (it builds an
 * AbortError each time) cost more than the encoding. Every line ends in CRLF and is at most 76
 * characters long. Nodemailer still composes the message around it: the addresses, the headers,
 * the multipart/alternative.
 */
export function quotedPrintablePart(contentType: string, content: string): string {
  return `Content-Type: ${contentType}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qpWrap(qpEncode(content.replace(/\r?\n/g, '\r\n')), 76)}`;
}

/** SMTP through a pooled nodemailer transport, with time limits so a hung server cannot stall the worker. */
export function smtpTransport(smtpUrl: string, options: { maxConnections?: number; timeoutMs?: number } = {}): MailTransport {
  const timeout = options.timeoutMs ?? 30_000;
  const transporter = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: options.maxConnections ?? 5,
    maxMessages: 500,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  transporter.use('stream', (mail, done) => {
    mail.message?.processFunc(wholeMessage);
    done();
  });
  const boundary = boundaryMaker();
  return {
    kind: 'smtp',
    async send(message) {
      await transporter.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: { raw: quotedPrintablePart('text/plain; charset=utf-8', message.text) },
        html: { raw: quotedPrintablePart('text/html; charset=utf-8', message.html) },
        messageId: message.messageId,
        baseBoundary: boundary(),
      });
    },
    close() {
      transporter.close();
    },
  };
}

/** Without SMTP_URL: each email becomes an .eml file under DATA_DIR/outbox/ and its link is logged. */
export function fileTransport(dir: string, logger: Logger): MailTransport {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  mkdirSync(dir, { recursive: true });
  return {
    kind: 'file',
    async send(message) {
      // The link also goes in a header, kept on one line (`prepared`: nodemailer would otherwise
      // fold it onto a continuation line), so `grep X-Doorman-Accept-Link` gives it whole.
      const headers = message.link ? { 'X-Doorman-Accept-Link': { prepared: true, value: message.link.replace(/[\r\n]/g, '') } } : undefined;
      const info = (await builder.sendMail({ from: message.from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: message.messageId, headers })) as unknown as { message: Buffer };
      const safe = message.messageId.replace(/[^A-Za-z0-9._-]/g, '');
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${safe}.eml`);
      // Write then rename: a reader never sees half a file.
      writeFileSync(file + '.tmp', info.message);
      renameSync(file + '.tmp', file);
      logger.info({ to: message.to, file, link: message.link }, 'email written to the local outbox (SMTP_URL is not set)');
    },
    close() {
      builder.close();
    },
  };
}
