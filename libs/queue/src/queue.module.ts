import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { DATA_SOURCE } from '#database';
import { createRedis } from './redis.js';
import { Queues } from './queues.js';
import { Outbox } from './outbox.js';

/** Redis for commands (rate limits, throttles); fails fast when Redis is down. */
export const REDIS = Symbol('REDIS');

@Global()
@Module({
  providers: [
    { provide: REDIS, inject: [CONFIG], useFactory: (config: FerryConfig) => createRedis(config, 'commands') },
    {
      provide: Queues,
      inject: [REDIS, CONFIG],
      useFactory: (redis: Redis, config: FerryConfig) => new Queues(redis, config),
    },
    {
      provide: Outbox,
      inject: [Queues, DATA_SOURCE],
      useFactory: (queues: Queues, dataSource: DataSource) => new Outbox(queues, dataSource),
    },
  ],
  exports: [REDIS, Queues, Outbox],
})
export class QueueModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly queues: Queues,
    private readonly outbox: Outbox,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.outbox.flush().catch(() => undefined);
    await this.queues.close();
    this.redis.disconnect();
  }
}
