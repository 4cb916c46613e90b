import { Inject, Injectable } from '@nestjs/common';
import { type EventEnvelope, uuidv7 } from '#domain';
import { TenantDb } from '#database';
import { Outbox } from '#queue';
import { WebhookDeliveriesRepository } from './delivery/webhook-deliveries.repository.js';
import { WebhookEndpointsRepository } from './endpoints/webhook-endpoints.repository.js';
import { WEBHOOK_CLOCK, type WebhookClock } from './webhook-clock.js';

/**
 * Turns one committed event into one delivery per subscribed, enabled endpoint of its workspace, each
 * with its `webhook.deliver` job written through the outbox in the same transaction. Idempotent on
 * (endpoint, event id): a re-run of the event job writes nothing twice.
 */
@Injectable()
export class WebhookFanout {
  constructor(
    private readonly db: TenantDb,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly outbox: Outbox,
    @Inject(WEBHOOK_CLOCK) private readonly clock: WebhookClock,
  ) {}

  async fanOut(event: EventEnvelope): Promise<void> {
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, workspaceId: event.workspaceId, data: event.data });
    await this.db.run(event.workspaceId, async (tx) => {
      const targets = await this.endpoints.subscribedTo(tx, event.type);
      if (targets.length === 0) return;
      const written = await this.deliveries.insertForEndpoints(
        tx,
        targets.map((target) => ({ id: uuidv7(), endpointId: target.id })),
        { id: event.id, type: event.type, body },
        this.clock(),
      );
      await this.outbox.writeMany(tx, 'webhook.deliver', written.map((deliveryId) => ({ workspaceId: event.workspaceId, deliveryId })));
    });
  }
}
