import { afterAll } from 'vitest';
import { settleTestDatabases } from './db.js';

// Registered first, so it runs after the file's own afterAll hooks (vitest runs them as a stack).
afterAll(settleTestDatabases);
