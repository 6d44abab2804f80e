import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { hashingLoad, hashPassword, verifyPassword } from '../../src/members/passwords.js';

describe('password hashing', () => {
  it('runs at most (thread pool − 1) hashes at once, leaving a thread for the database and files', async () => {
    const { slots } = hashingLoad();
    expect(slots).toBe(Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1));
    let most = 0;
    let fileReads = 0;
    const hashes = Promise.all(Array.from({ length: 8 }, (_, i) => hashPassword(`password number ${i}`)));
    let done = false;
    void hashes.then(() => (done = true));
    while (!done) {
      most = Math.max(most, hashingLoad().running);
      // Thread-pool work beside the hashes still gets through.
      await readFile(new URL(import.meta.url));
      fileReads++;
    }
    const keys = await hashes;
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(slots);
    expect(fileReads).toBeGreaterThan(8);
    expect(hashingLoad()).toMatchObject({ running: 0, waiting: 0 });
    expect(await verifyPassword(keys[3]!, 'password number 3')).toBe(true);
    expect(await verifyPassword(keys[3]!, 'password number 4')).toBe(false);
  });
});
