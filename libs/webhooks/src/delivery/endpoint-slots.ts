import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
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
  private acquiring: Array<{ wanted: ReadonlyArray<{ endpointId: string; holder: string }>; resolve: (taken: boolean[]) => void; reject: (error: unknown) => void }> = [];
  private acquired: NodeJS.Immediate | undefined;
  private releasing: Array<{ endpointId: string; holder: string }> = [];
  private released: Promise<void> | undefined;
  private readonly redis: SlotsRedis;

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
  acquireMany(wanted: ReadonlyArray<{ endpointId: string; holder: string }>): Promise<boolean[]> {
    if (wanted.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.acquiring.push({ wanted, resolve, reject });
      this.acquired ??= setImmediate(() => void this.acquireNow());
    });
  }

  private async acquireNow(): Promise<void> {
    const batch = this.acquiring;
    this.acquiring = [];
    this.acquired = undefined;
    const wanted = batch.flatMap((b) => b.wanted);
    const now = Date.now();
    const leaseMs = this.config.webhooks.timeoutMs * 2 + 5000;
    try {
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
      for (const { wanted: mine, resolve } of batch) {
        resolve(mine.map((_, i) => taken[at + i] === 1));
        at += mine.length;
      }
    } catch (error) {
      for (const { reject } of batch) reject(error);
    }
  }

  /** Gives a slot back; releases of the same tick go together. */
  release(endpointId: string, holder: string): Promise<void> {
    this.releasing.push({ endpointId, holder });
    this.released ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const batch = this.releasing;
      this.releasing = [];
      this.released = undefined;
      const pipeline = this.redis.pipeline();
      for (const { endpointId: id, holder: h } of batch) pipeline.zrem(this.key(id), h);
      return pipeline.exec().then(() => undefined);
    });
    return this.released;
  }

  private key(endpointId: string): string {
    return `${this.config.redis.keyPrefix}:webhooks:in-flight:${endpointId}`;
  }
}
