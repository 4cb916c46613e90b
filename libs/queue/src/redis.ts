import { Redis } from 'ioredis';
import type { FerryConfig } from '#config';

/**
 * A Redis connection for one purpose:
 * - `commands` (rate limits, throttles, and producing jobs from a request or the relay) fails fast, so
 *   a Redis outage is an error the caller handles (the outbox keeps the job), never a hung request;
 * - `consumer` (BullMQ workers, which block on Redis) waits and reconnects forever, as BullMQ requires.
 */
export function createRedis(config: FerryConfig, purpose: 'commands' | 'consumer'): Redis {
  const redis = new Redis(config.redis.url, {
    maxRetriesPerRequest: purpose === 'consumer' ? null : 1,
    enableOfflineQueue: purpose === 'consumer',
    connectionName: `ferry-${purpose}`,
  });
  // Without a listener ioredis prints every failed reconnect; readiness and callers report outages.
  redis.on('error', () => undefined);
  return redis;
}
