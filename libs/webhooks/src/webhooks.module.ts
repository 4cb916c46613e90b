import { Module } from '@nestjs/common';
import { WebhookFanout } from './webhook-fanout.service.js';

const PROVIDERS = [WebhookFanout];

/** Integrator webhooks: endpoints, signed delivery with retries, the delivery log. */
@Module({ providers: PROVIDERS, exports: PROVIDERS })
export class WebhooksModule {}
