import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope } from '#domain';
import { TenantDb } from '#database';
import { Outbox } from '#queue';
import { WebhookDeliveriesRepository } from './delivery/webhook-deliveries.repository.js';
import { WEBHOOK_CLOCK, type WebhookClock } from './webhook-clock.js';

/** Deliveries per `webhook.deliver_batch` job: an event with more subscribed endpoints gets several. */
export const DELIVERIES_PER_BATCH = 100;

/**
 * Turns one committed event into one delivery per subscribed, enabled endpoint of its workspace, and
 * one `webhook.deliver_batch` job per DELIVERIES_PER_BATCH of them, written through the outbox, all in
 * one statement. Idempotent on (endpoint, event id): a re-run of the event job writes nothing twice.
 */
@Injectable()
export class WebhookFanout {
  constructor(
    private readonly db: TenantDb,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly outbox: Outbox,
    @Inject(WEBHOOK_CLOCK) private readonly clock: WebhookClock,
  ) {}

  async fanOut(event: EventEnvelope): Promise<void> {
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, workspaceId: event.workspaceId, data: event.data });
    await this.db.run(event.workspaceId, async (tx) => {
      const batches = await this.deliveries.fanOut(tx, { id: event.id, type: event.type, body }, this.clock(), DELIVERIES_PER_BATCH);
      for (const [id, deliveryIds] of batches) {
        const data = { workspaceId: event.workspaceId, deliveryIds };
        // The row was inserted with the deliveries; published once the transaction commits.
        this.outbox.publishAfterCommit(tx, { id, jobName: 'webhook.deliver_batch', payload: JSON.stringify(data), data });
      }
    });
  }
}
