import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './net.js';

/**
 * A fault proxy in front of the stand-in: answers chat.postMessage to chosen channels with a
 * Slack platform error (HTTP 200, ok: false), as Slack does for a user it cannot DM, and passes
 * everything else through.
 */
export class SlackRefusalProxy {
  readonly refused: Array<{ channel: string; error: string; at: number }> = [];
  private readonly refusals = new Map<string, string>();
  private server: http.Server | undefined;
  private port = 0;

  constructor(private readonly upstream: string) {}

  static async start(upstream: string): Promise<SlackRefusalProxy> {
    const proxy = new SlackRefusalProxy(upstream);
    proxy.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void proxy.handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', () => resolve()));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  refuse(channel: string, error: string): void {
    this.refusals.set(channel, error);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeServer(server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    const method = /^\/api\/([a-zA-Z.]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname)?.[1];
    if (method === 'chat.postMessage') {
      const text = raw.toString('utf8');
      const channel = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(text) as { channel?: string }).channel : new URLSearchParams(text).get('channel');
      const error = channel ? this.refusals.get(channel) : undefined;
      if (channel && error) {
        this.refused.push({ channel, error, at: Date.now() });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error }));
        return;
      }
    }
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
      const upstream = await fetch(this.upstream.replace(/\/api$/, '') + (req.url ?? '/'), { method: req.method, headers, body: raw.length ? new Uint8Array(raw) : undefined });
      const body = Buffer.from(await upstream.arrayBuffer());
      const out: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k)) out[k] = v;
      });
      res.writeHead(upstream.status, out).end(body);
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  }
}
