export * from './webhooks.module.js';
export { WebhookFanout } from './webhook-fanout.service.js';
