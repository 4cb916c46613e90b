import { describe, expect, it } from 'vitest';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import type { FerryConfig } from '#config';
import { RateLimiter } from './rate-limiter.js';

/** Redis as the limiter uses it: MULTI (INCRBY EXPIRE)... EXEC, counting the round trips. */
function fakeRedis(): { redis: Redis; counts: Map<string, number>; roundTrips: () => number } {
  const counts = new Map<string, number>();
  let trips = 0;
  const multi = () => {
    const increments: Array<[string, number]> = [];
    const chain = {
      incrby(key: string, by: number) {
        increments.push([key, by]);
        return chain;
      },
      expire() {
        return chain;
      },
      async exec() {
        trips += 1;
        return increments.flatMap(([key, by]) => {
          counts.set(key, (counts.get(key) ?? 0) + by);
          return [
            [null, counts.get(key)],
            [null, 1],
          ];
        });
      },
    };
    return chain;
  };
  return { redis: { multi } as unknown as Redis, counts, roundTrips: () => trips };
}

function reply(): FastifyReply & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  return { headers, header: (name: string, value: string) => ((headers[name] = value), undefined) } as unknown as FastifyReply & { headers: Record<string, string> };
}

const config = (perMinute: number) => ({ rateLimit: { perMinute }, redis: { keyPrefix: 'test' } }) as unknown as FerryConfig;

describe('RateLimiter', () => {
  it('counts every request in Redis near a small limit, and refuses the one past it', async () => {
    const { redis, roundTrips } = fakeRedis();
    const limiter = new RateLimiter(redis, config(3));
    for (let i = 0; i < 3; i++) await limiter.consume('key:a', reply());
    const last = reply();
    await expect(limiter.consume('key:a', last)).rejects.toMatchObject({ code: 'rate_limit.exceeded' });
    expect(last.headers['RateLimit-Remaining']).toBe('0');
    expect(roundTrips()).toBe(4);
  });

  it('counts a caller far below its limit in memory and adds the count to Redis in one batch', async () => {
    const { redis, counts, roundTrips } = fakeRedis();
    const limiter = new RateLimiter(redis, config(10_000));
    const replies = [];
    for (let i = 0; i < 200; i++) {
      const r = reply();
      await limiter.consume('key:b', r);
      replies.push(r);
    }
    expect(replies.at(-1)!.headers['RateLimit-Remaining']).toBe(String(10_000 - 200));
    expect(roundTrips()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(roundTrips()).toBe(2);
    expect([...counts.values()]).toEqual([200]);
  });

  it('goes back to counting each request in Redis past half its limit', async () => {
    const { redis, counts, roundTrips } = fakeRedis();
    const limiter = new RateLimiter(redis, config(10));
    for (let i = 0; i < 10; i++) await limiter.consume('key:c', reply());
    await expect(limiter.consume('key:c', reply())).rejects.toMatchObject({ code: 'rate_limit.exceeded' });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect([...counts.values()]).toEqual([11]);
    expect(roundTrips()).toBeGreaterThanOrEqual(6);
  });

  it('adds the local counts of every caller to Redis in one write', async () => {
    const { redis, counts, roundTrips } = fakeRedis();
    const limiter = new RateLimiter(redis, config(10_000));
    for (const caller of ['key:d', 'key:e', 'key:f']) for (let i = 0; i < 5; i++) await limiter.consume(caller, reply());
    expect(roundTrips()).toBe(3); // each caller's first request, counted in Redis to learn its count
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(roundTrips()).toBe(4);
    expect([...counts.values()]).toEqual([5, 5, 5]);
    const next = reply();
    await limiter.consume('key:e', next);
    expect(next.headers['RateLimit-Remaining']).toBe(String(10_000 - 6));
  });
});
