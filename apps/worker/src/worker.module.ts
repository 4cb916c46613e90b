import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { ConfigModule, type FerryConfig } from '#config';
import { DatabaseModule } from '#database';
import { type AdapterLookup, DeliveryModule, MessagingModule } from '#messaging';
import { QueueModule } from '#queue';
import { WebhooksModule } from '#webhooks';
import { BillingModule } from '#billing';
import { Consumers } from './consumers.js';
import { WORKER_LOGGER } from './logger.js';
import { OutboxRelay } from './outbox-relay.js';
import { SmtpListener } from './smtp-listener.js';

/**
 * The background process: the queue consumers, the outbox relay, and (later) scheduled jobs.
 * Shutdown order: consumers (onModuleDestroy), then the relay (beforeApplicationShutdown), then
 * the connections (onApplicationShutdown).
 */
@Module({})
export class WorkerModule {
  /** `adapters`: the channel registry unless a test passes fakes. */
  static forRoot(config: FerryConfig, logger: Logger, adapters?: AdapterLookup): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, QueueModule, DeliveryModule.forRoot(adapters), MessagingModule, WebhooksModule, BillingModule.forRoot(config)],
      providers: [{ provide: WORKER_LOGGER, useValue: logger }, OutboxRelay, Consumers, SmtpListener],
    };
  }
}
