import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { ConfigModule, type FerryConfig } from '#config';
import { DatabaseModule } from '#database';
import { QueueModule } from '#queue';
import { WORKER_LOGGER } from './logger.js';
import { OutboxRelay } from './outbox-relay.js';

/** The background process: the outbox relay now; queue processors and scheduled jobs join here. */
@Module({})
export class WorkerModule {
  static forRoot(config: FerryConfig, logger: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, QueueModule],
      providers: [{ provide: WORKER_LOGGER, useValue: logger }, OutboxRelay],
    };
  }
}
