import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// medusa-js ships CJS typings only; under NodeNext its default import is typed as the namespace
// (as in test/web/medusa-js.test.ts).
const require = createRequire(import.meta.url);
const Medusa: typeof import('@medusajs/medusa-js').default = require('@medusajs/medusa-js').default;

/** The official client, as an admin script uses it: one instance per server, no retries. */
export type MedusaClient = InstanceType<typeof Medusa>;

export function medusaClient(baseUrl: string, apiKey: string): MedusaClient {
  return new Medusa({ baseUrl, maxRetries: 0, apiKey });
}

/** The real Medusa v1 server (../shared/peers/medusa-v1/start.sh), started or found running. */
export interface MedusaPeer {
  url: string;
  apiToken: string;
  pid: number;
  /** False when it was already running: then it is left running at the end. */
  startedHere: boolean;
  /** Stops the server if this run started it (`start.sh stop`); otherwise does nothing. */
  stop(): Promise<void>;
}

/** MEDUSA_PEER_SCRIPT, or the start.sh beside the repository (/work/shared/peers/medusa-v1). */
export function medusaPeerScript(): string {
  return process.env.MEDUSA_PEER_SCRIPT ?? path.resolve(ROOT, '../shared/peers/medusa-v1/start.sh');
}

function run(script: string, args: string[], env: Record<string, string>, log: (line: string) => void): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('bash', [script, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 }, (error, stdout) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout: String(stdout) });
    });
    // start.sh reports on stderr ("[medusa-peer] …"): pass it on, line by line.
    let rest = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) log(line.trim());
    });
  });
}

/**
 * Starts the Medusa peer, or reuses the one already running on MEDUSA_PORT (default 9000). A peer
 * this run starts gets a fresh database (MEDUSA_PEER_FRESH_DB=1) and is stopped by `stop()`; a
 * running one is left as it is (the suite empties its invitations through the API instead).
 */
export async function startMedusaPeer(log: (line: string) => void): Promise<MedusaPeer> {
  const script = medusaPeerScript();
  if (!existsSync(script)) throw new Error(`the Medusa peer's start script is not at ${script} (set MEDUSA_PEER_SCRIPT)`);
  const port = process.env.MEDUSA_PORT ?? '9000';
  const apiToken = process.env.MEDUSA_API_TOKEN ?? 'peer_token';
  const env = { MEDUSA_PORT: port, MEDUSA_API_TOKEN: apiToken };
  const running = (await run(script, ['status'], env, () => undefined)).code === 0;
  const started = await run(script, ['start'], running ? env : { ...env, MEDUSA_PEER_FRESH_DB: '1' }, log);
  const pid = Number(started.stdout.trim().split('\n').pop());
  if (started.code !== 0 || !Number.isInteger(pid) || pid <= 0) throw new Error(`${script} failed (exit ${started.code}); see the lines above`);
  return {
    url: `http://127.0.0.1:${port}`,
    apiToken,
    pid,
    startedHere: !running,
    async stop() {
      if (running) return;
      await run(script, ['stop'], env, log);
    },
  };
}
