/** Where test/support/db.ts leaves what test/support/setup.ts runs at the end of each test file. */
export const SETTLE_TEST_DATABASES = Symbol.for('doorman.settleTestDatabases');
