import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import type { TokenCache } from '#channels';
import { REDIS } from '#queue';

/** Deletes KEYS[1] only while it still holds ARGV[1]: a lock we own, a token nobody replaced. */
const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface TokenCacheTimings {
  /** How long a fetcher holds the lock at most (a fetcher that died frees it after this). */
  lockTtlMs: number;
  /** How long a caller waits for another's fetch before it gives up (a transient failure). */
  waitMs: number;
  /** How often a waiting caller looks for the token. */
  pollMs: number;
}

const DEFAULT_TIMINGS: TokenCacheTimings = { lockTtlMs: 15_000, waitMs: 20_000, pollMs: 50 };

/** Optional provider of other timings (tests compress them). */
export const TOKEN_CACHE_TIMINGS = Symbol('TOKEN_CACHE_TIMINGS');

/** Kept this much before the provider's expiry: a tenth of the lifetime, at most five minutes. */
export function tokenTtlSeconds(expiresInSeconds: number): number {
  const margin = Math.min(300, Math.floor(expiresInSeconds / 10));
  return Math.max(1, Math.floor(expiresInSeconds) - margin);
}

/**
 * Provider access tokens (WeChat's access_token) cached in Redis and shared by every worker. A
 * missing token is fetched under a Redis lock (SET NX PX), so two workers never fetch at once: WeChat
 * invalidates the previous token on every fetch, and a stampede would keep invalidating its own
 * tokens. The others wait and read what the fetcher cached.
 */
@Injectable()
export class RedisTokenCache implements TokenCache {
  private readonly prefix: string;
  private readonly timings: TokenCacheTimings;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) config: FerryConfig,
    @Optional() @Inject(TOKEN_CACHE_TIMINGS) timings?: Partial<TokenCacheTimings>,
  ) {
    this.prefix = `${config.redis.keyPrefix}:token`;
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
  }

  async get(key: string, fetch: () => Promise<{ token: string; expiresInSeconds: number }>): Promise<string> {
    const tokenKey = `${this.prefix}:${key}`;
    const lockKey = `${tokenKey}:lock`;
    const deadline = Date.now() + this.timings.waitMs;
    for (;;) {
      const cached = await this.redis.get(tokenKey);
      if (cached !== null) return cached;
      const owner = randomUUID();
      if ((await this.redis.set(lockKey, owner, 'PX', this.timings.lockTtlMs, 'NX')) === 'OK') {
        try {
          // Another fetcher may have finished between our read and our lock.
          const fresh = await this.redis.get(tokenKey);
          if (fresh !== null) return fresh;
          const { token, expiresInSeconds } = await fetch();
          await this.redis.set(tokenKey, token, 'EX', tokenTtlSeconds(expiresInSeconds));
          return token;
        } finally {
          await this.redis.eval(DELETE_IF_EQUAL, 1, lockKey, owner).catch(() => undefined);
        }
      }
      if (Date.now() >= deadline) throw new Error(`Timed out waiting for another worker to fetch the ${key} token`);
      await sleep(this.timings.pollMs);
    }
  }

  /** Drops the cached token when the provider refused it, unless another worker already replaced it. */
  async invalidate(key: string, token: string): Promise<void> {
    await this.redis.eval(DELETE_IF_EQUAL, 1, `${this.prefix}:${key}`, token);
  }
}
