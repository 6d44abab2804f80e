import { ulid } from 'ulid';

/** Sortable, prefixed ids in Medusa's style: `invite_01J…`, `usr_01J…`. */
export function newId(prefix: 'invite' | 'usr' | 'renew' | 'import'): string {
  return `${prefix}_${ulid()}`;
}
