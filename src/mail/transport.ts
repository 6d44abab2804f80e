import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
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
  /** Cuts an SMTP exchange short (a stop that will not wait for a stalled server). */
  signal?: AbortSignal;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'file';
  send(message: MailMessage): Promise<void>;
  close(): void;
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
  return {
    kind: 'smtp',
    async send(message) {
      await transporter.sendMail({ from: message.from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: message.messageId, ...(message.signal ? { signal: message.signal } : {}) });
    },
    close() {
      transporter.close();
    },
  };
}

/** Without SMTP_URL: each email becomes an .eml file under DATA_DIR/outbox/ and its link is logged. */
export function fileTransport(dir: string, logger: Logger): MailTransport {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let made = false;
  return {
    kind: 'file',
    async send(message) {
      // Made with the first email, so a CLI command that sends none writes nothing. The files hold
      // live invitation links: only the service's user may read them.
      if (!made) {
        try {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
        } catch (error) {
          throw new Error(`cannot make the local outbox ${dir} (DATA_DIR): ${(error as Error).message}`, { cause: error });
        }
        made = true;
      }
      // The link also goes in a header, kept on one line (`prepared`: nodemailer would otherwise
      // fold it onto a continuation line), so `grep X-Doorman-Accept-Link` gives it whole.
      const headers = message.link ? { 'X-Doorman-Accept-Link': { prepared: true, value: message.link.replace(/[\r\n]/g, '') } } : undefined;
      const info = await builder.sendMail({ from: message.from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: message.messageId, headers });
      const safe = message.messageId.replace(/[^A-Za-z0-9._-]/g, '');
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${safe}.eml`);
      // Write then rename: a reader never sees half a file.
      // `buffer: true` above: the message comes whole, as a Buffer, never as a stream.
      writeFileSync(file + '.tmp', info.message as Buffer, { mode: 0o600 });
      renameSync(file + '.tmp', file);
      logger.info({ to: message.to, file, link: message.link }, 'email written to the local outbox (SMTP_URL is not set)');
    },
    close() {
      builder.close();
    },
  };
}
