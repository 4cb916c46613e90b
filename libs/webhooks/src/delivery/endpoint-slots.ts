import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { TurnBatch } from '#database';
import { REDIS } from '#queue';

// For each (key, holder) in turn: expired leases (a worker that died holding one) are dropped first;
// then a lease is taken if fewer than the cap are held. One script, so two workers cannot both take
// the last slot; one call for every delivery of a batch (and of every batch of the same tick).
const ACQUIRE = `
local taken = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  if redis.call('ZCARD', key) >= tonumber(ARGV[3]) then
    taken[i] = 0
  else
    redis.call('ZADD', key, ARGV[2], ARGV[4 + i])
    redis.call('PEXPIRE', key, ARGV[4])
    taken[i] = 1
  end
end
return taken`;

/** The script as a command of the connection: sent by its SHA (EVALSHA), the text only when Redis lacks it. */
type SlotsRedis = Redis & { ferryAcquireSlots(keyCount: number, ...args: Array<string | number>): Promise<number[]> };

/**
 * Per-endpoint fairness: at most WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT deliveries to one endpoint are in
 * flight at once, across every worker. A slow endpoint's other deliveries wait (deferred, no try
 * spent) instead of filling the worker's slots, so deliveries to every other endpoint keep flowing.
 * A slot is a lease in a Redis sorted set that lapses by itself if its holder dies. Acquires made in
 * the same tick share one call of the script, and releases one pipeline: one write each.
 */
@Injectable()
export class EndpointSlots {
  private readonly redis: SlotsRedis;
  private readonly acquires = new TurnBatch<ReadonlyArray<{ endpointId: string; holder: string }>, boolean[]>((batch) => this.acquireNow(batch));
  private readonly releases = new TurnBatch<{ endpointId: string; holder: string }, void>((batch) => this.releaseNow(batch));

  constructor(@Inject(REDIS) redis: Redis, @Inject(CONFIG) private readonly config: FerryConfig) {
    if (!('ferryAcquireSlots' in redis)) redis.defineCommand('ferryAcquireSlots', { lua: ACQUIRE });
    this.redis = redis as SlotsRedis;
  }

  /** Takes a slot for `holder` (a delivery id) on the endpoint; false when the endpoint is at its cap. */
  async acquire(endpointId: string, holder: string): Promise<boolean> {
    const [taken] = await this.acquireMany([{ endpointId, holder }]);
    return taken === true;
  }

  /** acquire() for each of `wanted`, in order: which were taken. */
  async acquireMany(wanted: ReadonlyArray<{ endpointId: string; holder: string }>): Promise<boolean[]> {
    return wanted.length === 0 ? [] : this.acquires.submit(wanted);
  }

  /** Gives a slot back; releases of the same tick go together. */
  release(endpointId: string, holder: string): Promise<void> {
    return this.releases.submit({ endpointId, holder });
  }

  private async acquireNow(batch: Array<ReadonlyArray<{ endpointId: string; holder: string }>>): Promise<boolean[][]> {
    const wanted = batch.flat();
    const now = Date.now();
    const leaseMs = this.config.webhooks.timeoutMs * 2 + 5000;
    const taken = await this.redis.ferryAcquireSlots(
      wanted.length,
      ...wanted.map((w) => this.key(w.endpointId)),
      now,
      now + leaseMs,
      this.config.webhooks.maxInFlightPerEndpoint,
      leaseMs,
      ...wanted.map((w) => w.holder),
    );
    let at = 0;
    return batch.map((mine) => {
      const answer = mine.map((_, i) => taken[at + i] === 1);
      at += mine.length;
      return answer;
    });
  }

  private async releaseNow(batch: Array<{ endpointId: string; holder: string }>): Promise<void[]> {
    const pipeline = this.redis.pipeline();
    for (const { endpointId, holder } of batch) pipeline.zrem(this.key(endpointId), holder);
    await pipeline.exec();
    return batch.map(() => undefined);
  }

  private key(endpointId: string): string {
    return `${this.config.redis.keyPrefix}:webhooks:in-flight:${endpointId}`;
  }
}
