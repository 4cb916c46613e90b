import { describe, expect, it } from 'vitest';
import { uuidv7 } from '#domain';
import { hashToken, mintApiKey, parseApiKey } from './api-key-token.js';

describe('API key tokens', () => {
  it('round-trips the workspace id and hashes the whole key', () => {
    const workspaceId = uuidv7();
    const minted = mintApiKey(workspaceId);
    expect(minted.key).toMatch(/^fry_[\w-]{65}$/);
    expect(minted.key.startsWith(minted.prefix)).toBe(true);
    expect(parseApiKey(minted.key)).toEqual({ workspaceId, hash: hashToken(minted.key) });
    expect(minted.hash).not.toContain(minted.key.slice(30));
  });

  it('mints a different secret every time', () => {
    const workspaceId = uuidv7();
    expect(mintApiKey(workspaceId).key).not.toBe(mintApiKey(workspaceId).key);
  });

  it.each(['', 'fry_', 'fry_short', `xxx_${'a'.repeat(65)}`, `fry_${'a'.repeat(64)}`])('rejects malformed key %j', (key) => {
    expect(parseApiKey(key)).toBeNull();
  });
});
