import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventCallback } from './slack-payloads.js';

/**
 * A stand-in for Slack's Socket Mode WebSocket server (docs/research/slack-platform.md §8).
 *
 * The app gets its URL from `apps.connections.open` on the Web API stand-in, called with the
 * app-level token (`SlackApiStandIn.start(botToken, { socket })`): each call issues a one-time
 * ticket in the URL, and a connection without a ticket that was issued is refused (HTTP 401 on the
 * upgrade). On connecting the app is sent Slack's `hello`; then the test sends envelopes and gets,
 * for each, a promise of the app's acknowledgement `{ envelope_id, payload? }`.
 *
 *   const socket = await SlackSocketStandIn.start();
 *   const api = await SlackApiStandIn.start('xoxb-test', { socket });
 *   … start the app with SLACK_APP_TOKEN = api.appToken, SLACK_API_URL = api.url …
 *   await socket.connected();
 *   const ack = await socket.slashCommand(slashCommandFields({ … }));
 *   ack.payload // what the app's ack() carried ({} for an empty ack)
 *
 * Slack waits 3 seconds for an acknowledgement; an envelope not acknowledged within
 * `ackTimeoutMs` (3 s) rejects its promise. `disconnect(reason)` sends Slack's `disconnect`
 * message (the client reconnects through apps.connections.open).
 */

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SocketEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface SocketAck {
  envelope_id: string;
  /** What the app's ack carried (the Socket Mode client sends `{}` for an empty ack). */
  payload?: Record<string, unknown>;
  /** When the ack arrived, and how long after the envelope was sent. */
  at: number;
  ms: number;
}

export interface SendOptions {
  envelopeId?: string;
  acceptsResponsePayload?: boolean;
  retryAttempt?: number;
  retryReason?: string;
  /** Default `ackTimeoutMs`. */
  ackTimeoutMs?: number;
}

export class SlackSocketStandIn {
  /** How long Slack waits for an acknowledgement. */
  ackTimeoutMs = 3_000;
  readonly sent: SocketEnvelope[] = [];
  readonly acks: SocketAck[] = [];
  /** Messages from the app that were not acknowledgements of a sent envelope. */
  readonly strays: unknown[] = [];
  private readonly tickets = new Set<string>();
  private readonly sockets = new Set<WebSocket>();
  private readonly pending = new Map<string, { envelope: SocketEnvelope; sentAt: number; resolve: (ack: SocketAck) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  /** Told of each answer an ack carried, with its envelope: the Web API stand-in checks it as Slack would. */
  onAnswer: ((envelope: SocketEnvelope, answer: Record<string, unknown>) => void) | undefined;
  private connectWaiters: Array<() => void> = [];
  private refusing = 0;
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private port = 0;

  private constructor(readonly appId: string) {}

  static async start(options: { appId?: string } = {}): Promise<SlackSocketStandIn> {
    const s = new SlackSocketStandIn(options.appId ?? 'A0DOORMAN');
    await s.listen();
    return s;
  }

  /** For apps.connections.open: a wss-style URL with a new one-time ticket. */
  issueUrl(): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `ws://127.0.0.1:${this.port}/link/?ticket=${ticket}&app_id=${this.appId}`;
  }

  /** Open connections (each has been sent `hello`). */
  get connections(): number {
    return [...this.sockets].filter((ws) => ws.readyState === ws.OPEN).length;
  }

  /** Resolves once at least `count` connections are open. */
  async connected(count = 1, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no Socket Mode connection within ${timeoutMs} ms (open: ${this.connections})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.connectWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next `times` connections are refused at the upgrade (HTTP 503), though apps.connections.open gave their URLs. */
  refuseConnections(times: number): void {
    this.refusing = times;
  }

  /** Sends an envelope on the newest open connection and returns the app's acknowledgement. */
  send(type: EnvelopeType, payload: Record<string, unknown>, options: SendOptions = {}): Promise<SocketAck> {
    const ws = [...this.sockets].reverse().find((s) => s.readyState === s.OPEN);
    if (!ws) return Promise.reject(new Error('no open Socket Mode connection'));
    const envelope: SocketEnvelope = {
      envelope_id: options.envelopeId ?? randomUUID(),
      type,
      payload,
      // Slack lets slash commands and interactions answer in the ack; Events API deliveries cannot.
      accepts_response_payload: options.acceptsResponsePayload ?? type !== 'events_api',
      ...(options.retryAttempt !== undefined ? { retry_attempt: options.retryAttempt, retry_reason: options.retryReason ?? 'timeout' } : type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
    };
    const timeoutMs = options.ackTimeoutMs ?? this.ackTimeoutMs;
    return new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelope_id);
        reject(new Error(`the app did not acknowledge ${type} envelope ${envelope.envelope_id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(envelope.envelope_id, { envelope, sentAt: Date.now(), resolve, reject, timer });
      this.sent.push(envelope);
      ws.send(JSON.stringify(envelope));
    });
  }

  /** A slash command: `fields` as `slashCommandFields()` builds them. */
  slashCommand(fields: Record<string, string>, options?: SendOptions): Promise<SocketAck> {
    return this.send('slash_commands', fields, options);
  }

  /** An interaction payload (block_actions, view_submission, shortcut, …). */
  interactive(payload: Record<string, unknown>, options?: SendOptions): Promise<SocketAck> {
    return this.send('interactive', payload, options);
  }

  /** An Events API event, wrapped in its event_callback. */
  event(event: Record<string, unknown>, options: SendOptions & { eventId?: string } = {}): Promise<SocketAck> {
    return this.send('events_api', eventCallback(event, { eventId: options.eventId }), options);
  }

  /** Slack's `disconnect` message, as it sends before recycling a connection. */
  disconnect(reason: 'warning' | 'refresh_requested' | 'too_many_websockets' | 'link_disabled' = 'refresh_requested'): void {
    for (const ws of this.sockets) if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-test' } }));
  }

  async stop(): Promise<void> {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`stand-in stopped before envelope ${id} was acknowledged`));
    }
    this.pending.clear();
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    const wss = this.wss;
    const server = this.server;
    this.wss = undefined;
    this.server = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private async listen(): Promise<void> {
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({
      server,
      verifyClient: (info: { req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
        const ticket = new URL(info.req.url ?? '/', 'http://x').searchParams.get('ticket');
        if (!ticket || !this.tickets.has(ticket)) return done(false, 401, 'invalid ticket');
        if (this.refusing > 0) {
          this.refusing -= 1;
          return done(false, 503, 'unavailable');
        }
        this.tickets.delete(ticket);
        done(true);
      },
    });
    wss.on('connection', (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('message', (data, isBinary) => this.onMessage(isBinary ? undefined : data.toString()));
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: this.connections,
          debug_info: { host: 'applink-test', build_number: 1, approximate_connection_time: 18_060 },
          connection_info: { app_id: this.appId },
        }),
      );
      const waiters = this.connectWaiters;
      this.connectWaiters = [];
      for (const wake of waiters) wake();
    });
    this.server = server;
    this.wss = wss;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
  }

  private onMessage(text: string | undefined): void {
    let message: any;
    try {
      message = text === undefined ? undefined : JSON.parse(text);
    } catch {
      message = undefined;
    }
    const id = message?.envelope_id;
    const pending = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!pending) {
      this.strays.push(message ?? text);
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(id);
    const at = Date.now();
    const ack: SocketAck = { envelope_id: id, ...(message.payload !== undefined ? { payload: message.payload } : {}), at, ms: at - pending.sentAt };
    this.acks.push(ack);
    if (message.payload !== undefined && message.payload !== null && typeof message.payload === 'object') this.onAnswer?.(pending.envelope, message.payload as Record<string, unknown>);
    pending.resolve(ack);
  }
}

/** A fresh app-level-token-looking string, for tests that need a second one. */
export function fakeAppToken(): string {
  return `xapp-1-A0DOORMAN-${randomBytes(6).toString('hex')}`;
}
