import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from './ids.js';

describe('uuidv7', () => {
  it('is a version 7, variant 1 UUID carrying its time', () => {
    const id = uuidv7(Date.UTC(2026, 10, 28));
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 28));
  });

  it('strictly increases within one millisecond, and when the clock steps back', () => {
    const now = Date.now() + 60_000;
    const ids = [...Array.from({ length: 5000 }, () => uuidv7(now)), uuidv7(now - 10), uuidv7(now - 5000)];
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('isUuid', () => {
  it.each(['', 'x', '01234567-89ab-cdef-0123-456789abcdeg', '0123456789abcdef0123456789abcdef'])('rejects %j', (value) => {
    expect(isUuid(value)).toBe(false);
  });
});
