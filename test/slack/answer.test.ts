import { describe, expect, it } from 'vitest';
import type { RespondArguments } from '@slack/bolt';
import { answerInAck } from '../../src/slack/answer.js';

/** Records what a command's ack and respond() were given, in order. */
function recorder() {
  const said: Array<{ via: 'ack' | 'respond'; body: unknown }> = [];
  const ack = async (body?: string | RespondArguments) => {
    said.push({ via: 'ack', body });
  };
  const respond = async (body: string | RespondArguments) => {
    said.push({ via: 'respond', body });
    return undefined as never;
  };
  return { said, ack, respond };
}

const table: RespondArguments = { response_type: 'ephemeral', text: 'Invitations' };
const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('answering a read-only command', () => {
  it('puts an answer that is ready in time in the ack, and posts nothing after', async () => {
    const r = recorder();
    await answerInAck(r.ack, r.respond, () => after(5, table), 200);
    expect(r.said).toEqual([{ via: 'ack', body: table }]);
  });

  it('acks empty at the deadline when the answer is late, then posts it to response_url', async () => {
    const r = recorder();
    const started = Date.now();
    const done = answerInAck(r.ack, r.respond, () => after(300, table), 50);
    await after(120, undefined);
    // Slack has its ack well before the answer exists.
    expect(r.said).toEqual([{ via: 'ack', body: undefined }]);
    await done;
    expect(r.said).toEqual([
      { via: 'ack', body: undefined },
      { via: 'respond', body: table },
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('still acks when building the answer fails, and lets the failure through to be logged', async () => {
    const r = recorder();
    await expect(answerInAck(r.ack, r.respond, async () => Promise.reject(new Error('database down')), 200)).rejects.toThrow('database down');
    expect(r.said).toEqual([{ via: 'ack', body: undefined }]);
  });

  it('a late answer that then fails is acked once and reported, with nothing posted', async () => {
    const r = recorder();
    await expect(answerInAck(r.ack, r.respond, () => after(80, undefined).then(() => Promise.reject(new Error('gone'))), 20)).rejects.toThrow('gone');
    expect(r.said).toEqual([{ via: 'ack', body: undefined }]);
  });
});
