import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashRefreshToken, mintRefreshToken } from './refresh-token.js';

describe('refresh tokens', () => {
  it('are frr_ plus 256 random bits, stored as their SHA-256', () => {
    const minted = mintRefreshToken();
    expect(minted.token).toMatch(/^frr_[\w-]{43}$/);
    expect(minted.hash).toBe(createHash('sha256').update(minted.token).digest('hex'));
    expect(hashRefreshToken(minted.token)).toBe(minted.hash);
  });

  it('differ every time, and so do their hashes', () => {
    const a = mintRefreshToken();
    const b = mintRefreshToken();
    expect(a.token).not.toBe(b.token);
    expect(a.hash).not.toBe(b.hash);
  });

  it.each(['', 'frr_', `frr_${'a'.repeat(42)}`, `fry_${'a'.repeat(43)}`, `frr_${'a'.repeat(42)}!`])('does not hash malformed %j', (token) => {
    expect(hashRefreshToken(token)).toBeNull();
  });
});
