import { describe, expect, it } from 'vitest';
import type { Principal } from '../principal.js';
import { ApiKeyCache } from './api-key-cache.js';

const principal = (apiKeyId: string): Principal => ({ kind: 'api_key', workspaceId: 'w', memberId: null, userId: null, apiKeyId, role: 'admin' });

describe('ApiKeyCache', () => {
  it('answers a verified key until it expires', () => {
    const cache = new ApiKeyCache();
    cache.set('hash-1', principal('k1'), 1000);
    expect(cache.get('hash-1', 1000 + 9_999)?.apiKeyId).toBe('k1');
    expect(cache.get('hash-1', 1000 + 10_000)).toBeNull();
    expect(cache.get('hash-1', 1000)).toBeNull();
  });

  it('forgets a revoked key at once', () => {
    const cache = new ApiKeyCache();
    cache.set('hash-1', principal('k1'));
    cache.set('hash-2', principal('k2'));
    cache.forget('k1');
    expect(cache.get('hash-1')).toBeNull();
    expect(cache.get('hash-2')?.apiKeyId).toBe('k2');
  });
});
