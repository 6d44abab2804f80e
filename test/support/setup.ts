import { afterAll } from 'vitest';
import { SETTLE_TEST_DATABASES } from './settle.js';

// Registered first, so it runs after the file's own afterAll hooks (vitest runs them as a stack):
// each file drops the PostgreSQL databases it made. Set by test/support/db.ts once a file has
// loaded it; a file that never does need not load the database drivers for this.
afterAll(async () => {
  await (globalThis as { [SETTLE_TEST_DATABASES]?: () => Promise<void> })[SETTLE_TEST_DATABASES]?.();
});
