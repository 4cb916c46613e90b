import { Inject, Module, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { OutboundGuard } from '#net';
import { EndpointSlots } from './delivery/endpoint-slots.js';
import { WebhookFirstTriesRepository } from './delivery/first-tries.repository.js';
import { WebhookDeliveriesRepository } from './delivery/webhook-deliveries.repository.js';
import { WebhookDeliveryService } from './delivery/webhook-delivery.service.js';
import { WebhookLogService } from './delivery/webhook-log.service.js';
import { WebhookEndpointsRepository } from './endpoints/webhook-endpoints.repository.js';
import { WebhookEndpointsService } from './endpoints/webhook-endpoints.service.js';
import { systemClock, WEBHOOK_CLOCK } from './webhook-clock.js';
import { WebhookFanout } from './webhook-fanout.service.js';
import { WebhookSecretCipher } from './webhook-secrets.js';

const PROVIDERS: Provider[] = [
  WebhookEndpointsRepository,
  WebhookDeliveriesRepository,
  WebhookFirstTriesRepository,
  WebhookEndpointsService,
  WebhookDeliveryService,
  WebhookLogService,
  WebhookFanout,
  EndpointSlots,
  { provide: WEBHOOK_CLOCK, useValue: systemClock },
  { provide: WebhookSecretCipher, inject: [CONFIG], useFactory: (config: FerryConfig) => new WebhookSecretCipher(config.auth.appSecret) },
  // The SSRF guard: every request to an endpoint goes through its pinned-lookup dispatcher.
  { provide: OutboundGuard, inject: [CONFIG], useFactory: (config: FerryConfig) => new OutboundGuard({ allowPrivateUrls: config.allowPrivateUrls }) },
];

/** Integrator webhooks: endpoints, signed delivery with retries, the delivery log. Needs the config, database and queue modules. */
@Module({ providers: PROVIDERS, exports: PROVIDERS })
export class WebhooksModule implements OnApplicationShutdown {
  constructor(@Inject(OutboundGuard) private readonly guard: OutboundGuard) {}

  async onApplicationShutdown(): Promise<void> {
    await this.guard.close();
  }
}
