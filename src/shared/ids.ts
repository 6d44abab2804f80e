import { monotonicFactory } from 'ulid';

/**
 * ULIDs from the library's monotonic factory: it draws its randomness once per millisecond instead
 * of once per character of every id (what `ulid()` does), so naming a 100,000-address list costs next
 * to nothing, and ids made within one millisecond still sort in the order they were made.
 */
const nextUlid = monotonicFactory();

/** Sortable, prefixed ids in Medusa's style: `invite_01J…`, `usr_01J…`. */
export function newId(prefix: 'invite' | 'usr' | 'renew' | 'import' | 'run' | 'whep' | 'msg' | 'request'): string {
  return `${prefix}_${nextUlid()}`;
}
