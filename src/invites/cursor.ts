import { InvalidInput } from '../shared/errors.js';

export type SortKey = 'email' | 'status' | 'created' | 'expires';
export type SortOrder = 'asc' | 'desc';

/**
 * Where the next page starts. Sorted by a column, a keyset (the last row's value and id) that
 * names the sort it was made for, since its value means nothing under another; sorted by status,
 * an offset.
 */
export type Cursor = { offset: number } | { sort: SortKey; order: SortOrder; value: string | number; id: string; position: number };

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(raw: string | undefined, sort: SortKey, order: SortOrder): Cursor | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    if ('offset' in value && Number.isInteger(value.offset) && value.offset >= 0) return value;
    if (
      'id' in value &&
      value.sort === sort &&
      value.order === order &&
      typeof value.id === 'string' &&
      typeof value.value === (sort === 'email' ? 'string' : 'number') &&
      Number.isInteger(value.position) &&
      value.position >= 0
    ) {
      return value;
    }
  } catch {
    // fall through: not base64 JSON
  }
  throw new InvalidInput('The page cursor is not valid; start from the first page.', 'cursor');
}
