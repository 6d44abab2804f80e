import { monotonicFactory } from 'ulid';

/**
 * ULIDs from the library's monotonic factory: it draws its randomness once per millisecond instead
 * of once per character of every id (what `ulid()` does), so naming a 100,000-address list costs next
 * to nothing, and ids made within one millisecond still sort in the order they were made.
 */
const nextUlid = monotonicFactory();

type IdPrefix = 'invite' | 'usr' | 'renew' | 'import' | 'run' | 'whep' | 'msg' | 'request';

/** Sortable, prefixed ids in Medusa's style: `invite_01J…`, `usr_01J…`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${nextUlid()}`;
}

const ID_SHAPES = new Map<IdPrefix, RegExp>();

/** Whether `value` has the shape of an id of this kind; checked before a database sees it (PostgreSQL refuses a NUL in text). */
export function isIdOf(prefix: IdPrefix, value: unknown): value is string {
  let shape = ID_SHAPES.get(prefix);
  if (!shape) ID_SHAPES.set(prefix, (shape = new RegExp(`^${prefix}_[0-9A-Za-z]{1,40}$`)));
  return typeof value === 'string' && shape.test(value);
}
