export * from './webhooks.module.js';
export { DELIVERIES_PER_BATCH, FIRST_TRY_WAIT_MS, WebhookFanout } from './webhook-fanout.service.js';
export { WebhookFirstTriesRepository } from './delivery/first-tries.repository.js';
export { WebhookEndpointsService, type WebhookEndpointChange, type WebhookEndpointInput } from './endpoints/webhook-endpoints.service.js';
export { WebhookDeliveryService } from './delivery/webhook-delivery.service.js';
export { WebhookLogService } from './delivery/webhook-log.service.js';
export { WEBHOOK_CLOCK, type WebhookClock } from './webhook-clock.js';
export { MAX_ATTEMPTS, RETRY_SCHEDULE_DESCRIPTION, RETRY_SCHEDULE_MS, retryDelayMs, failedTooLong, DISABLE_AFTER_FAILING_MS } from './webhook-schedule.js';
export type { WebhookAttemptView, WebhookDeliveryView, WebhookEndpointView, WebhookEndpointWithSecret } from './webhook-views.js';
