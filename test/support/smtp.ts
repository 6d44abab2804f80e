import net from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { freePort } from './net.js';

/**
 * A real SMTP server in-process, for tests: records every message it accepts, and can be told to
 * misbehave the way real servers do (busy, rejecting, dropping the line, down, hung).
 */

export interface ReceivedMail {
  /** As the client sent it (CRLF line ends, dot-unstuffed). */
  raw: string;
  envelope: { from: string; to: string[] };
  /** Unfolded, decoded header values by lower-case name (the first occurrence). */
  headers: Record<string, string>;
  subject: string;
  to: string;
  messageId: string;
  /** The text/plain part, quoted-printable undone. */
  text: string;
  /** The text/html part, quoted-printable undone. */
  html: string;
  /** The first accept link in the text part. */
  link: string | undefined;
  /** The token from that link. */
  token: string | undefined;
  /** When the server accepted it (ms since the epoch). */
  receivedAt: number;
}

/** A fault the server answers with, for the next `times` messages (default: until cleared). */
export type Fault =
  | { kind: 'reply'; at: 'rcpt' | 'data'; code: number; message?: string; times?: number }
  | { kind: 'drop'; times?: number }
  | { kind: 'hang'; at: 'greeting' | 'data'; times?: number };

export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  /** Every DATA transaction seen, accepted or not. */
  attempts = 0;
  private server: SMTPServer | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly faults: Fault[] = [];
  private hanging: Array<() => void> = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly port: number) {}

  /** Listening on 127.0.0.1 at a free port (or `port`). `up: false` only reserves the port. */
  static async create(options: { up?: boolean; port?: number } = {}): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(options.port ?? (await freePort()));
    if (options.up !== false) await smtp.start();
    return smtp;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  /** Fault(s) to apply, in order, to the next messages. */
  fail(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  clearFaults(): void {
    this.faults.length = 0;
    this.releaseHung();
  }

  /** Distinct Message-IDs received and how often each came. */
  countByMessageId(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.received) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
    return counts;
  }

  /** Messages sent to this address. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((m) => m.envelope.to.includes(address.toLowerCase()));
  }

  /** Resolves once `count` messages have been accepted (or throws after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} message(s), got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      banner: 'doorman test smtp',
      size: 10 * 1024 * 1024,
      closeTimeout: 100,
      onConnect: (_session, callback) => {
        const fault = this.take((f) => f.kind === 'hang' && f.at === 'greeting');
        if (fault) return this.hanging.push(() => callback(new Error('released')));
        callback();
      },
      onRcptTo: (address, _session, callback) => {
        const fault = this.take((f) => f.kind === 'reply' && f.at === 'rcpt');
        if (fault?.kind === 'reply') return callback(smtpError(fault.code, fault.message ?? 'recipient refused by the test'));
        callback();
      },
      onData: (stream, session, callback) => {
        this.attempts++;
        const fault = this.take((f) => f.kind === 'drop' || (f.kind === 'reply' && f.at === 'data') || (f.kind === 'hang' && f.at === 'data'));
        const chunks: Buffer[] = [];
        let dropped = false;
        stream.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (fault?.kind === 'drop' && !dropped) {
            // The line goes dead in the middle of the message: the client never hears back.
            dropped = true;
            this.socketOf(session)?.destroy();
          }
        });
        stream.on('end', () => {
          if (dropped) return;
          if (fault?.kind === 'reply') return callback(smtpError(fault.code, fault.message ?? 'try again later (test)'));
          if (fault?.kind === 'hang') return void this.hanging.push(() => callback(smtpError(421, 'released')));
          const raw = Buffer.concat(chunks).toString('utf8');
          this.received.push(parseMail(raw, { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()) }));
          callback(null, 'queued by the test');
          const waiters = this.waiters;
          this.waiters = [];
          for (const wake of waiters) wake();
        });
        stream.on('error', () => undefined);
      },
    });
    server.on('error', () => undefined);
    server.server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** Goes down at once: the port is closed and every open connection is cut. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.hanging = [];
    await closed;
  }

  private releaseHung(): void {
    const hung = this.hanging;
    this.hanging = [];
    for (const release of hung) release();
  }

  private take(match: (fault: Fault) => boolean): Fault | undefined {
    const index = this.faults.findIndex(match);
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    if (fault.times !== undefined) {
      fault.times--;
      if (fault.times <= 0) this.faults.splice(index, 1);
    }
    return fault;
  }

  private socketOf(session: SMTPServerSession): net.Socket | undefined {
    for (const socket of this.sockets) if (socket.remotePort === session.remotePort) return socket;
    return undefined;
  }
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

// ------------------------------------------------------------------ a small MIME reader

/** Undoes quoted-printable: soft line breaks first, then =XX bytes (as UTF-8). */
export function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const c = joined[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header value. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, _charset: string, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}

function splitHead(raw: string): { headers: Record<string, string>; body: string } {
  const at = raw.search(/\r?\n\r?\n/);
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] ??= decodeHeader(line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeBody(headers: Record<string, string>, body: string): string {
  const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** Leaf parts of a (possibly nested) multipart message, by content type. */
function leafParts(headers: Record<string, string>, body: string): Array<{ type: string; content: string }> {
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!/^multipart\//i.test(type) || !boundary) return [{ type: type.split(';')[0]!.trim().toLowerCase(), content: decodeBody(headers, body) }];
  const parts = body.split(`--${boundary}`).slice(1);
  const out: Array<{ type: string; content: string }> = [];
  for (const part of parts) {
    if (part.startsWith('--')) break;
    const inner = splitHead(part.replace(/^\r?\n/, ''));
    out.push(...leafParts(inner.headers, inner.body.replace(/\r?\n$/, '')));
  }
  return out;
}

export function parseMail(raw: string, envelope: { from: string; to: string[] }): ReceivedMail {
  const { headers, body } = splitHead(raw);
  const parts = leafParts(headers, body);
  const text = parts.find((p) => p.type === 'text/plain')?.content ?? '';
  const html = parts.find((p) => p.type === 'text/html')?.content ?? '';
  const link = /https?:\/\/\S+\/invite\?token=[A-Za-z0-9_-]+/.exec(text)?.[0];
  return {
    raw,
    envelope,
    headers,
    subject: headers.subject ?? '',
    to: headers.to ?? '',
    messageId: headers['message-id'] ?? '',
    text,
    html,
    link,
    token: link ? new URL(link).searchParams.get('token') ?? undefined : undefined,
    receivedAt: Date.now(),
  };
}

/** The most moments (e.g. emails received) within any window of `windowMs`. */
export function mostWithin(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
