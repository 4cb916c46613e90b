import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import type { FerryConfig } from '#config';
import { uuidv7 } from '#domain';
import { createRedis } from '#queue';
import { testConfig } from '#testing';
import { EndpointSlots } from './endpoint-slots.js';

describe('EndpointSlots', () => {
  let config: FerryConfig;
  let redis: Redis;
  let slots: EndpointSlots;

  beforeAll(async () => {
    config = await testConfig({ REDIS_PREFIX: `ferry-test-slots-${process.pid}`, WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: '2' });
    redis = createRedis(config, 'commands');
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    slots = new EndpointSlots(redis, config);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${config.redis.keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
  });

  it('takes at most the cap per endpoint, across callers of one tick served by one call, in call order', async () => {
    const script = vi.spyOn(redis as Redis & { ferryAcquireSlots: () => Promise<number[]> }, 'ferryAcquireSlots');
    try {
      const [busy, quiet] = [uuidv7(), uuidv7()];
      const [first, second] = await Promise.all([
        slots.acquireMany([
          { endpointId: busy, holder: 'a' },
          { endpointId: quiet, holder: 'b' },
        ]),
        slots.acquireMany([
          { endpointId: busy, holder: 'c' },
          { endpointId: busy, holder: 'd' },
        ]),
      ]);
      expect(script).toHaveBeenCalledTimes(1);
      expect([first, second]).toEqual([
        [true, true],
        [true, false],
      ]);
      await slots.release(busy, 'a');
      expect(await slots.acquire(busy, 'd')).toBe(true);
      expect(await slots.acquire(busy, 'e')).toBe(false);
    } finally {
      script.mockRestore();
    }
  });

  it('fails every caller of a call that fails', async () => {
    const failing = vi.spyOn(redis as Redis & { ferryAcquireSlots: () => Promise<number[]> }, 'ferryAcquireSlots').mockRejectedValueOnce(new Error('Connection is closed.'));
    try {
      const results = await Promise.allSettled([slots.acquire(uuidv7(), 'g'), slots.acquire(uuidv7(), 'h')]);
      expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    } finally {
      failing.mockRestore();
    }
  });
});
