import { Redis } from 'ioredis';
import type { FerryConfig } from '#config';

/**
 * A Redis connection. BullMQ needs `maxRetriesPerRequest: null` on connections it blocks on;
 * other users (rate limits, caches) fail fast instead so a Redis outage shows as an error, not a hang.
 */
export function createRedis(config: FerryConfig, purpose: 'queue' | 'commands'): Redis {
  return new Redis(config.redis.url, {
    maxRetriesPerRequest: purpose === 'queue' ? null : 1,
    enableOfflineQueue: purpose === 'queue',
    connectionName: `ferry-${purpose}`,
    lazyConnect: false,
  });
}
