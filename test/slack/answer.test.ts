import { describe, expect, it } from 'vitest';
import type { RespondArguments } from '@slack/bolt';
import type { Context } from '@slack/bolt';
import { answerAck, answerInAck, httpResponseOf, JsonAnswer, sharedEphemeral, type Answer } from '../../src/slack/answer.js';

/** Records what a command's ack and respond() were given, in order. */
function recorder() {
  const said: Array<{ via: 'ack' | 'respond'; body: unknown }> = [];
  const ack = async (body?: Answer) => {
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

describe('an answer serialized once', () => {
  /** Bolt's HTTP ack, as it writes a body: a string as is, an object as JSON with its content type. */
  function httpAck() {
    const headers: Record<string, string> = {};
    const res = { headersSent: false, setHeader: (name: string, value: string) => void (headers[name] = value) };
    const sent: unknown[] = [];
    const ack = async (body?: string | RespondArguments) => void sent.push(body);
    const context = httpResponseOf({ res } as never) as unknown as Context;
    return { headers, res, sent, ack, context };
  }

  it('goes out over HTTP as its serialized text, marked application/json', async () => {
    const h = httpAck();
    const answer = new JsonAnswer(table);
    await answerAck(h.ack, h.context)(answer);
    expect(h.sent).toEqual([JSON.stringify(table)]);
    expect(h.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('goes out as the object in Socket Mode (no HTTP response) or once headers are sent; plain answers as they are', async () => {
    const socket = httpAck();
    await answerAck(socket.ack, {} as Context)(new JsonAnswer(table));
    expect(socket.sent).toEqual([table]);
    const late = httpAck();
    late.res.headersSent = true;
    await answerAck(late.ack, late.context)(new JsonAnswer(table));
    await answerAck(late.ack, late.context)(table);
    await answerAck(late.ack, late.context)();
    expect(late.sent).toEqual([table, table, undefined]);
    expect(late.headers).toEqual({});
  });

  it('one shared render gives one answer, serialized once however many acks carry it', () => {
    const rendered = { text: 'Invitations', blocks: [] };
    const first = sharedEphemeral(rendered);
    expect(sharedEphemeral(rendered)).toBe(first);
    expect(first.json).toBe(first.json);
    expect(JSON.parse(first.json)).toEqual({ response_type: 'ephemeral', text: 'Invitations', blocks: [] });
    expect(sharedEphemeral({ ...rendered })).not.toBe(first);
  });

  it('a late answer is posted to response_url as the object', async () => {
    const r = recorder();
    await answerInAck(r.ack, r.respond, () => after(60, new JsonAnswer(table)), 10);
    expect(r.said).toEqual([
      { via: 'ack', body: undefined },
      { via: 'respond', body: table },
    ]);
  });
});
