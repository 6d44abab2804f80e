import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

/**
 * ulid's own generator asks the CSPRNG for one byte per character (16 calls per id); a 100,000-
 * address invite spent a quarter of its time there. The same CSPRNG bytes, drawn 4 KiB at a time.
 */
const pool = new Uint8Array(4096);
let next = pool.length;
function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 256;
}

/** Sortable, prefixed ids in Medusa's style: `invite_01J…`, `usr_01J…`. */
export function newId(prefix: 'invite' | 'usr'): string {
  return `${prefix}_${ulid(undefined, pooledRandom)}`;
}
