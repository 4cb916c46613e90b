import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { FerryConfig } from '#config';
import { uuidv7 } from '#domain';
import { testConfig } from '#testing';
import { SendRateLimiter } from './send-rate-limiter.js';

describe('SendRateLimiter', () => {
  let config: FerryConfig;
  let redis: Redis;
  let limiter: SendRateLimiter;

  beforeAll(async () => {
    const base = await testConfig();
    config = await testConfig({ REDIS_PREFIX: `${base.redis.keyPrefix}-rate` });
    redis = new Redis(config.redis.url);
    limiter = new SendRateLimiter(redis, config);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${config.redis.keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("lets a burst of one second's worth through, then hands out later slots in order", async () => {
    const inbox = uuidv7();
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) waits.push(await limiter.acquire(inbox, 5, `job-${i}`));

    expect(waits.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    const later = waits.slice(5);
    for (const wait of later) expect(wait).toBeGreaterThan(0);
    expect(later[1]! - later[0]!, 'one interval apart').toBeGreaterThan(150);
    expect(later[2]! - later[1]!).toBeGreaterThan(150);
  });

  it('a job that comes back early finds its own slot still reserved, and is let through once it is due', async () => {
    const inbox = uuidv7();
    expect(await limiter.acquire(inbox, 1, 'a')).toBe(0);
    const first = await limiter.acquire(inbox, 1, 'b');
    expect(first).toBeGreaterThan(0);
    const again = await limiter.acquire(inbox, 1, 'b');
    expect(again, 'the same slot, not a new one').toBeLessThanOrEqual(first);
    expect(await limiter.acquire(inbox, 1, 'c'), 'c gets the slot after b').toBeGreaterThan(again + 500);

    // b's slot comes due (moved into the past rather than waited for).
    await redis.set(`${config.redis.keyPrefix}:delivery:rate:${inbox}:held:b`, '1');
    expect(await limiter.acquire(inbox, 1, 'b')).toBe(0);
    expect(await redis.exists(`${config.redis.keyPrefix}:delivery:rate:${inbox}:held:b`), 'the slot is used up').toBe(0);
  });

  it('one inbox at its limit does not slow another down', async () => {
    const busy = uuidv7();
    const quiet = uuidv7();
    for (let i = 0; i < 20; i++) await limiter.acquire(busy, 1, `busy-${i}`);
    expect(await limiter.acquire(busy, 1, 'busy-next')).toBeGreaterThan(10_000);
    expect(await limiter.acquire(quiet, 1, 'quiet-1')).toBe(0);
  });

  it('acquireSend takes the pair slot, then the inbox slot, in one call: a second send to one user waits for the pair, another user goes', async () => {
    const inbox = uuidv7();
    const pair = (to: string) => ({ to, intervalMs: 6000 });
    expect(await limiter.acquireSend(inbox, 80, pair('alice'), 'a1')).toEqual({ wait: 0, limit: 'inbox' });
    const second = await limiter.acquireSend(inbox, 80, pair('alice'), 'a2');
    expect(second.limit).toBe('pair');
    expect(second.wait).toBeGreaterThan(5000);
    expect(await limiter.acquireSend(inbox, 80, pair('alice'), 'a2'), 'the same reserved slot').toMatchObject({ limit: 'pair' });
    expect(await limiter.acquireSend(inbox, 80, pair('bob'), 'b1')).toEqual({ wait: 0, limit: 'inbox' });
    // Without a pair limit it is acquire(): a burst of the inbox's rate, then later slots.
    const other = uuidv7();
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) waits.push((await limiter.acquireSend(other, 2, null, `o-${i}`)).wait);
    expect(waits.slice(0, 2)).toEqual([0, 0]);
    expect(waits[2]).toBeGreaterThan(0);
    expect(waits[3]).toBeGreaterThan(waits[2]!);
  });
  it('acquireSends takes several sends\' slots in one round trip, each as acquireSend would, in order', async () => {
    const inbox = uuidv7();
    const other = uuidv7();
    const pair = { to: '15550001111', intervalMs: 6000 };
    const slots = await limiter.acquireSends([
      { inboxId: inbox, ratePerSecond: 2, pair: null, holder: 'm1' },
      { inboxId: inbox, ratePerSecond: 2, pair, holder: 'm2' },
      { inboxId: inbox, ratePerSecond: 2, pair, holder: 'm3' },
      { inboxId: inbox, ratePerSecond: 2, pair: null, holder: 'm4' },
      { inboxId: other, ratePerSecond: 2, pair: null, holder: 'm5' },
    ]);
    expect(slots.map((slot) => slot.limit)).toEqual(['inbox', 'inbox', 'pair', 'inbox', 'inbox']);
    expect(slots[0]!.wait).toBe(0);
    expect(slots[1]!.wait, 'the burst holds two').toBe(0);
    expect(slots[2]!.wait, 'the same user again: the pair interval').toBeGreaterThan(5000);
    expect(slots[3]!.wait, 'a third send in the second: the next slot').toBeGreaterThan(0);
    expect(slots[4]!.wait, 'another inbox is not held up').toBe(0);
    // m4 comes back for the slot reserved for it, not a later one.
    expect(await limiter.acquireSend(inbox, 2, null, 'm4')).toMatchObject({ limit: 'inbox' });
    expect(await limiter.acquireSends([])).toEqual([]);
  });
});
