import { Injectable } from '@nestjs/common';
import type { Principal } from '../principal.js';

const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

/**
 * Recently verified API keys, by hash, for a few seconds: an integration calling in a loop costs one
 * key lookup every TTL instead of a transaction per request. A key revoked through this process is
 * forgotten at once; another API instance honours the revocation within TTL_MS.
 */
@Injectable()
export class ApiKeyCache {
  private readonly entries = new Map<string, { principal: Principal; expiresAt: number }>();

  get(hash: string, now = Date.now()): Principal | null {
    const entry = this.entries.get(hash);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      this.entries.delete(hash);
      return null;
    }
    return entry.principal;
  }

  set(hash: string, principal: Principal, now = Date.now()): void {
    if (this.entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: the first key is the oldest.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, { principal, expiresAt: now + TTL_MS });
  }

  forget(apiKeyId: string): void {
    for (const [hash, entry] of this.entries) if (entry.principal.apiKeyId === apiKeyId) this.entries.delete(hash);
  }
}
