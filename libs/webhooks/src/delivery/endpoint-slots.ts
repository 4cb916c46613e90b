import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { REDIS } from '#queue';

// Expired leases (a worker that died holding one) are dropped first; then a lease is taken if fewer
// than the cap are held. One script, so two workers cannot both take the last slot.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

/**
 * Per-endpoint fairness: at most WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT deliveries to one endpoint are in
 * flight at once, across every worker. A slow endpoint's other deliveries wait (deferred, no try
 * spent) instead of filling the worker's slots, so deliveries to every other endpoint keep flowing.
 * A slot is a lease in a Redis sorted set that lapses by itself if its holder dies.
 */
@Injectable()
export class EndpointSlots {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: FerryConfig,
  ) {}

  /** Takes a slot for `holder` (a delivery id) on the endpoint; false when the endpoint is at its cap. */
  async acquire(endpointId: string, holder: string): Promise<boolean> {
    const now = Date.now();
    const leaseMs = this.config.webhooks.timeoutMs * 2 + 5000;
    const taken = await this.redis.eval(ACQUIRE, 1, this.key(endpointId), now, now + leaseMs, holder, this.config.webhooks.maxInFlightPerEndpoint, leaseMs);
    return taken === 1;
  }

  async release(endpointId: string, holder: string): Promise<void> {
    await this.redis.zrem(this.key(endpointId), holder);
  }

  private key(endpointId: string): string {
    return `${this.config.redis.keyPrefix}:webhooks:in-flight:${endpointId}`;
  }
}
