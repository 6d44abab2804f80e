import type { Db } from '../../src/db/index.js';
import { INVITE_EMAIL } from '../../src/invites/sending.js';
import type { ChildServer } from './children.js';

/** Waits until Doorman's outbox has nothing due (what it queued meanwhile is delivered). */
export async function outboxDrained(db: Db, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await db('outbox').where({ state: 'pending' }).where('next_attempt_at', '<=', Date.now()).count<{ n: number | string }[]>({ n: '*' });
    if (Number(row!.n) === 0) return;
    if (Date.now() > deadline) throw new Error(`Doorman's outbox still has ${row!.n} items due after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * After the suites that drive the Doorman process: everything it queued was delivered and taken.
 * The outbox empties (Slack notices paced per recipient included), each email Doorman recorded as
 * sent reached the sink once (the sink was reset before Doorman started), and the Slack stand-in
 * refused no call or reply.
 */
export async function checkDeliveries(db: Db, sink: ChildServer, slackApi: ChildServer, stallMs = 30_000): Promise<void> {
  // However long the queue, it must keep shrinking: a delivery that keeps failing stops it.
  let least = Infinity;
  let shrunkAt = Date.now();
  for (;;) {
    const waiting = (await db('outbox').where({ state: 'pending' }).select('kind', 'attempts', 'last_error')) as Array<{ kind: string; attempts: number; last_error: string | null }>;
    if (waiting.length === 0) break;
    if (waiting.length < least) [least, shrunkAt] = [waiting.length, Date.now()];
    if (Date.now() - shrunkAt > stallMs) {
      const why = [...new Set(waiting.map((r) => `${r.kind} (${r.attempts} attempts): ${r.last_error ?? 'not tried'}`))].join('; ');
      throw new Error(`${waiting.length} deliveries still queued, none delivered in ${stallMs / 1000} s: ${why.slice(0, 1_000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const [sent] = await db('outbox').where({ kind: INVITE_EMAIL, state: 'done' }).count<{ n: number | string }[]>({ n: '*' });
  const { received } = await sink.request<{ received: number }>('count');
  if (received !== Number(sent!.n)) throw new Error(`Doorman recorded ${sent!.n} emails as sent; the SMTP sink received ${received}`);
  const { rejected } = await slackApi.request<{ rejected: number }>('stats');
  if (rejected) throw new Error(`the Slack stand-in refused ${rejected} calls or replies`);
}
