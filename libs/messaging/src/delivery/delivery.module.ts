import { type DynamicModule, Module } from '@nestjs/common';
import { adapterFor } from '#channels';
import { MessagingModule } from '../messaging.module.js';
import { type AdapterLookup, CHANNEL_ADAPTERS } from './channel-adapters.js';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository.js';
import { DeliveryService } from './delivery.service.js';
import { OutboundMessagesRepository } from './outbound-messages.repository.js';
import { SendFollowUps } from './send-batch.js';
import { SendClaims } from './send-claims.js';
import { SendOrder } from './send-order.js';
import { SendRateLimiter } from './send-rate-limiter.js';
import { SentSettler } from './sent-settler.js';
import { RedisTokenCache } from './token-cache.js';

const PROVIDERS = [DeliveryService, DeliveryAttemptsRepository, OutboundMessagesRepository, SendRateLimiter, SendOrder, SendFollowUps, SendClaims, RedisTokenCache, SentSettler];

/** Outbound delivery (the worker's `message.send`): needs the config, database and queue modules. */
@Module({})
export class DeliveryModule {
  /** `adapters` defaults to the channel registry; tests pass fakes. */
  static forRoot(adapters: AdapterLookup = adapterFor): DynamicModule {
    return {
      module: DeliveryModule,
      imports: [MessagingModule],
      providers: [...PROVIDERS, { provide: CHANNEL_ADAPTERS, useValue: adapters }],
      exports: [DeliveryService, RedisTokenCache],
    };
  }
}
