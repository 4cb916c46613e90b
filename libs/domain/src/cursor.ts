import { DomainError } from './domain-error.js';
import { isUuid } from './ids.js';

/**
 * A keyset cursor: the sort key and id of the last row of a page, opaque to clients.
 * A cursor that does not decode is the client's error (400 `pagination.invalid_cursor`), never a 500.
 */
export interface Cursor {
  key: string;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.key, cursor.id])).toString('base64url');
}

export function decodeCursor(raw: string | undefined, isValidKey: (key: string) => boolean): Cursor | null {
  if (raw === undefined || raw === '') return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [key, id] = parsed as unknown[];
      if (typeof key === 'string' && typeof id === 'string' && isUuid(id) && isValidKey(key)) return { key, id };
    }
  } catch {
    // fall through to the error below
  }
  throw DomainError.invalid('pagination.invalid_cursor', 'The cursor is not one this API issued');
}

export const isIsoTime = (key: string): boolean => !Number.isNaN(Date.parse(key)) && /^\d{4}-\d\d-\d\dT/.test(key);

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export function pageOf<T>(rows: T[], limit: number, cursorOf: (row: T) => Cursor): Page<T> {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, nextCursor: hasMore && last ? encodeCursor(cursorOf(last)) : null };
}
