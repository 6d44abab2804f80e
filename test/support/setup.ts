import { afterAll } from 'vitest';
import { testDatabases } from './settle.js';

// Registered first, so it runs after the file's own afterAll hooks (vitest runs them as a stack):
// each file drops the PostgreSQL databases it made.
testDatabases.hooked = true;
afterAll(async () => {
  await testDatabases.settle?.();
});
