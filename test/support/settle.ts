/**
 * Shared by test/support/db.ts and test/support/setup.ts through the global object, so that a file
 * that never makes a database need not load the drivers to settle: `hooked` once setup.ts runs in
 * this process (under vitest, not in a benchmark it spawns), `settle` once db.ts is loaded.
 */
export interface TestDatabasesSlot {
  hooked?: boolean;
  settle?: () => Promise<void>;
}

const KEY = Symbol.for('doorman.testDatabases');
export const testDatabases: TestDatabasesSlot = ((globalThis as { [KEY]?: TestDatabasesSlot })[KEY] ??= {});
