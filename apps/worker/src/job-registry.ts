import type { INestApplicationContext } from '@nestjs/common';
import { BillingJobs } from '#billing';
import { DeliveryService, FallbackService, InboundEventsService, StatusService } from '#messaging';
import { WebhookDeliveryService, WebhookFanout } from '#webhooks';
import type { JobHandlers, QueueName } from '#queue';

/*
 * The queues this worker consumes and the handler of every job on them. To add a processor: add its
 * queue to CONSUMED_QUEUES and its handler to jobHandlers() (a thin call into a lib service, resolved
 * from the application context). The worker checks at boot that every job of every consumed queue
 * has a handler (assertHandlers) and refuses to start otherwise. Each consumed queue gets its own
 * BullMQ Worker (consumers.ts), so a flood on one never delays another.
 */
export const CONSUMED_QUEUES: readonly QueueName[] = ['outbound', 'inbound', 'status', 'events', 'webhooks', 'billing'];

/** The handlers, bound to the services of `app` (resolved now, so a missing provider fails the boot). */
export function jobHandlers(app: Pick<INestApplicationContext, 'get'>): JobHandlers {
  const delivery = app.get(DeliveryService);
  const inbound = app.get(InboundEventsService);
  const statuses = app.get(StatusService);
  const fallback = app.get(FallbackService);
  const webhookFanout = app.get(WebhookFanout);
  const webhooks = app.get(WebhookDeliveryService);
  const billing = app.get(BillingJobs);
  return {
    'message.send': (payload, job) => delivery.deliver(payload, job),
    'message.fallback_check': (payload) => fallback.check(payload),
    'inbound.process': async (payload) => void (await inbound.processMany(payload.workspaceId, payload.eventIds)),
    'status.apply': async (payload) => void (await statuses.apply(payload.workspaceId, payload.eventId)),
    // Written only for events an endpoint subscribes to; the live stream got the event at commit.
    'event.dispatch': ({ event }) => webhookFanout.fanOut(event),
    'webhook.deliver': (payload) => webhooks.deliver(payload.workspaceId, payload.deliveryId),
    'webhook.deliver_batch': (payload) => webhooks.deliverBatch(payload.workspaceId, payload.deliveryIds),
    'billing.event': (payload) => billing.event(payload.workspaceId, payload.eventId),
    'billing.usage': (payload) => billing.usage(payload.workspaceId, payload.messageIds ?? [payload.messageId]),
    'billing.report': (payload, job) => billing.report(payload.workspaceId, job),
    'billing.seats': (payload) => billing.seats(payload.workspaceId),
  };
}

/** What a worker process runs: its queues and their handlers (tests pass their own). */
export interface JobRegistry {
  queues: readonly QueueName[];
  handlers: (app: Pick<INestApplicationContext, 'get'>) => JobHandlers;
}

export const JOB_REGISTRY: JobRegistry = { queues: CONSUMED_QUEUES, handlers: jobHandlers };
