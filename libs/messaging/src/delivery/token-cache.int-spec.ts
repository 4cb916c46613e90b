import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { FerryConfig } from '#config';
import { uuidv7 } from '#domain';
import { testConfig } from '#testing';
import { RedisTokenCache } from './token-cache.js';

describe('RedisTokenCache', () => {
  let config: FerryConfig;
  let redis: Redis;
  const connections: Redis[] = [];

  beforeAll(async () => {
    const base = await testConfig();
    config = await testConfig({ REDIS_PREFIX: `${base.redis.keyPrefix}-tokens` });
    redis = new Redis(config.redis.url);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${config.redis.keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    for (const connection of connections) connection.disconnect();
  });

  function connect(): Redis {
    const connection = new Redis(config.redis.url);
    connections.push(connection);
    return connection;
  }

  /** One cache per simulated worker process: its own connection, the same Redis. */
  function worker(): RedisTokenCache {
    return new RedisTokenCache(connect(), config, { pollMs: 10 });
  }

  it('10 concurrent gets from several workers fetch the token once; all get it', async () => {
    const key = `wechat:${uuidv7()}`;
    let fetches = 0;
    const fetch = async (): Promise<{ token: string; expiresInSeconds: number }> => {
      fetches += 1;
      await sleep(100); // the provider takes its time: the others must wait, not fetch
      return { token: `token-${fetches}`, expiresInSeconds: 7200 };
    };
    const caches = [worker(), worker(), worker()];

    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => caches[i % caches.length]!.get(key, fetch)));

    expect(fetches).toBe(1);
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    const ttl = await redis.ttl(`${config.redis.keyPrefix}:token:${key}`);
    expect(ttl).toBeGreaterThan(6800);
    expect(ttl).toBeLessThanOrEqual(6900);
    expect(await redis.exists(`${config.redis.keyPrefix}:token:${key}:lock`), 'lock released').toBe(0);
  });

  it('serves the cached token without fetching', async () => {
    const key = `wechat:${uuidv7()}`;
    const cache = worker();
    await cache.get(key, async () => ({ token: 'first', expiresInSeconds: 7200 }));
    expect(await cache.get(key, async () => ({ token: 'second', expiresInSeconds: 7200 }))).toBe('first');
  });

  it('invalidate drops the token it was given, and leaves a newer one alone', async () => {
    const key = `wechat:${uuidv7()}`;
    const cache = worker();
    await cache.get(key, async () => ({ token: 'old', expiresInSeconds: 7200 }));
    await cache.invalidate(key, 'old');
    expect(await cache.get(key, async () => ({ token: 'new', expiresInSeconds: 7200 }))).toBe('new');

    await cache.invalidate(key, 'old'); // a worker that still held the old token
    expect(await cache.get(key, async () => ({ token: 'newer', expiresInSeconds: 7200 }))).toBe('new');
  });

  it('a failed fetch releases the lock: the next caller fetches', async () => {
    const key = `wechat:${uuidv7()}`;
    const cache = worker();
    await expect(cache.get(key, async () => Promise.reject(new Error('provider down')))).rejects.toThrow('provider down');
    expect(await cache.get(key, async () => ({ token: 'after', expiresInSeconds: 60 }))).toBe('after');
  });

  it('a waiter gives up (a transient error) when the fetcher holds the lock too long', async () => {
    const key = `wechat:${uuidv7()}`;
    await redis.set(`${config.redis.keyPrefix}:token:${key}:lock`, 'someone-else', 'PX', 10_000);
    const impatient = new RedisTokenCache(connect(), config, { pollMs: 10, waitMs: 100 });
    let fetched = false;
    await expect(
      impatient.get(key, async () => {
        fetched = true;
        return { token: 'x', expiresInSeconds: 60 };
      }),
    ).rejects.toThrow(/Timed out waiting/);
    expect(fetched).toBe(false);
  });
});
