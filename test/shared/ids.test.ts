import { decodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/ids.js';

describe('newId', () => {
  it('makes prefixed ULIDs, unique across many', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('invite'));
    for (const id of ids.slice(0, 50)) expect(id).toMatch(/^invite_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // The random part is not stuck: the last 16 characters vary across ids.
    expect(new Set(ids.map((id) => id.slice(-16))).size).toBe(ids.length);
  });

  it('sort in the order they were made, also within one millisecond', () => {
    const ids = Array.from({ length: 5_000 }, () => newId('invite'));
    expect([...ids].sort()).toEqual(ids);
  });

  it('carries the creation time, so ids sort by it', () => {
    const before = Date.now();
    const id = newId('usr');
    expect(id.startsWith('usr_')).toBe(true);
    expect(decodeTime(id.slice(4))).toBeGreaterThanOrEqual(before);
    expect(decodeTime(id.slice(4))).toBeLessThanOrEqual(Date.now());
  });
});
