import type { Type } from '@nestjs/common';
import { WebhookDeliveriesController } from './webhook-deliveries.controller.js';
import { WebhookEndpointsController } from './webhook-endpoints.controller.js';

/** Controllers of integrator webhook endpoints and their deliveries. */
export const WEBHOOK_CONTROLLERS: Type[] = [WebhookEndpointsController, WebhookDeliveriesController];
