import { SCRYPT_PARAMS, Scrypt } from '../../src/members/passwords.js';
import { stopwatch } from './stats.js';

/** One run of the floor: hashes a second, and CPU time per hash (all threads) with the kernel's part, in ms. */
export interface FloorRun {
  rate: number;
  cpuMs: number;
  systemMs: number;
}

/**
 * The accept suite's floor: `count` raw scrypt-kdf hashes at Doorman's parameters, all asked for at
 * once (libuv's pool runs as many as it has threads).
 */
export async function hashFloor(count: number, password: string): Promise<FloorRun> {
  const stop = stopwatch();
  await Promise.all(Array.from({ length: count }, () => Scrypt.kdf(password, SCRYPT_PARAMS)));
  const { ms, cpuMs, systemMs } = stop();
  return { rate: count / (ms / 1000), cpuMs: cpuMs / count, systemMs: systemMs / count };
}
