import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordSecretFingerprint, requireServiceSecret } from '../src/app-secret.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

const A = 'a-secret-of-at-least-thirty-two-characters';
const B = 'b-secret-of-at-least-thirty-two-characters';

describe('the service secret recorded at start', () => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await test.destroy();
  });

  it('says when a start replaces the secret the database was last served with, and when that one was recorded', async () => {
    expect(await recordSecretFingerprint(test.db, A, 1_000)).toEqual({});
    expect(await recordSecretFingerprint(test.db, A, 2_000)).toEqual({});
    expect(await recordSecretFingerprint(test.db, B, 3_000)).toEqual({ replacedSince: 2_000 });
    // From then on the CLI works with the new one only.
    await expect(requireServiceSecret(test.db, A)).rejects.toThrow(/APP_SECRET: is not the one the service runs with/);
    await expect(requireServiceSecret(test.db, B)).resolves.toBeUndefined();
  });
});
