import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { closeServer } from './net.js';

/** A WEBHOOK_SECRET for tests: `whsec_` and the base64 of a 35-byte key. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('doorman-webhook-test-key-0123456789').toString('base64')}`;

/** One request as the receiver saw it, checked with the off-the-shelf Standard Webhooks verifier. */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The verifier's verdict with the receiver's secret (undefined: no secret given). */
  verified: boolean | undefined;
  verifyError?: string;
  status: number | 'hung';
}

/** How the receiver answers a request: a status; `hang`: never answered; `endless`: 200 with a body that never ends. */
export type Answer = number | 'hang' | 'endless';

/**
 * A real HTTP server that receives webhooks: records each request, verifies its signature with
 * the `standardwebhooks` library, and answers from a script (then `otherwise`).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly script: Answer[] = [];
  otherwise: Answer = 204;
  /** How long each status waits before it is answered (a slow endpoint). */
  delayMs = 0;
  /** Headers sent with every answer (a Retry-After, say). */
  answerHeaders: Record<string, string> = {};
  secret: string | undefined;
  private readonly server: http.Server;
  private readonly hanging = new Set<http.ServerResponse>();

  private constructor(server: http.Server) {
    this.server = server;
  }

  static async start(secret?: string): Promise<WebhookReceiver> {
    const receiver: WebhookReceiver = new WebhookReceiver(http.createServer((req, res) => receiver.handle(req, res)));
    receiver.secret = secret;
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', () => resolve()));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Requests waiting for their answer (one that never comes, or a slow one). */
  get hangingCount(): number {
    return this.hanging.size;
  }

  bodies(): Array<{ type: string; timestamp: string; data: Record<string, unknown> }> {
    return this.received.map((r) => JSON.parse(r.body) as { type: string; timestamp: string; data: Record<string, unknown> });
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    await closeServer(this.server);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = { 'webhook-id': String(req.headers['webhook-id'] ?? ''), 'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''), 'webhook-signature': String(req.headers['webhook-signature'] ?? '') };
      let verified: boolean | undefined;
      let verifyError: string | undefined;
      if (this.secret) {
        try {
          new Webhook(this.secret).verify(body, headers);
          verified = true;
        } catch (error) {
          verified = false;
          verifyError = (error as Error).message;
        }
      }
      const answer = this.script.shift() ?? this.otherwise;
      this.received.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body, verified, verifyError, status: answer === 'hang' ? 'hung' : answer === 'endless' ? 200 : answer });
      if (answer === 'hang') {
        this.hanging.add(res);
        return;
      }
      if (answer === 'endless') {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const more = () => {
          while (!res.destroyed && res.write(chunk));
        };
        res.on('drain', more);
        more();
        return;
      }
      if (this.delayMs === 0) return void res.writeHead(answer, this.answerHeaders).end();
      this.hanging.add(res);
      setTimeout(() => {
        this.hanging.delete(res);
        if (!res.destroyed) res.writeHead(answer, this.answerHeaders).end();
      }, this.delayMs).unref();
    });
  }
}
