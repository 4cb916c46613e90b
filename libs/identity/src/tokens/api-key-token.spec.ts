import { describe, expect, it } from 'vitest';
import { uuidv7 } from '#domain';
import { hashToken, mintApiKey, mintInvitationToken, parseApiKey, parseInvitationToken } from './api-key-token.js';

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

  it.each(['', 'fry_', 'fry_short', `xxx_${'a'.repeat(65)}`, `fry_${'a'.repeat(64)}`, `fry_${'a'.repeat(64)}!`])(
    'rejects malformed key %j',
    (key) => {
      expect(parseApiKey(key)).toBeNull();
    },
  );
});

describe('invitation tokens', () => {
  it('carry the workspace like an API key, under their own prefix', () => {
    const workspaceId = uuidv7();
    const minted = mintInvitationToken(workspaceId);
    expect(minted.token).toMatch(/^fri_[\w-]{65}$/);
    expect(parseInvitationToken(minted.token)).toEqual({ workspaceId, hash: minted.hash });
    expect(minted.hash).toBe(hashToken(minted.token));
  });

  it('are not API keys, and API keys are not invitations', () => {
    const workspaceId = uuidv7();
    expect(parseApiKey(mintInvitationToken(workspaceId).token)).toBeNull();
    expect(parseInvitationToken(mintApiKey(workspaceId).key)).toBeNull();
  });
});
