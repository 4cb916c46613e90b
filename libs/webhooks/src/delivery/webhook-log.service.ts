import { Inject, Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, encodeCursor, isUuid, type Page, uuidv7 } from '#domain';
import { TenantDb } from '#database';
import { Outbox } from '#queue';
import { WebhookEndpointsRepository } from '../endpoints/webhook-endpoints.repository.js';
import { WebhookEndpointsService } from '../endpoints/webhook-endpoints.service.js';
import { WEBHOOK_CLOCK, type WebhookClock } from '../webhook-clock.js';
import { deliveryView, type WebhookDeliveryView } from '../webhook-views.js';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';

/** The delivery log of an endpoint, its test-send, and replay of any delivery. */
@Injectable()
export class WebhookLogService {
  constructor(
    private readonly db: TenantDb,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsService,
    private readonly endpointRows: WebhookEndpointsRepository,
    private readonly delivery: WebhookDeliveryService,
    private readonly outbox: Outbox,
    @Inject(WEBHOOK_CLOCK) private readonly clock: WebhookClock,
  ) {}

  /** Deliveries of an endpoint, newest first, each with every attempt. */
  async list(workspaceId: string, endpointId: string, page: { limit: number; cursor?: string }): Promise<Page<WebhookDeliveryView>> {
    await this.endpoints.require(workspaceId, endpointId);
    const before = decodeCursor(page.cursor, isUuid);
    return this.db.run(workspaceId, async (tx) => {
      const rows = await this.deliveries.listPage(tx, endpointId, before?.id ?? null, page.limit + 1);
      const shown = rows.slice(0, page.limit);
      const attempts = await this.deliveries.attemptsOf(tx, shown.map((row) => row.id));
      const last = shown[shown.length - 1];
      return {
        data: shown.map((row) => deliveryView(row, attempts)),
        nextCursor: rows.length > page.limit && last ? encodeCursor({ key: last.id, id: last.id }) : null,
      };
    });
  }

  /** Sends a `webhook.test` event to the endpoint now, once, and answers the logged delivery. */
  async test(workspaceId: string, endpointId: string): Promise<WebhookDeliveryView> {
    const endpoint = await this.endpoints.require(workspaceId, endpointId);
    const now = this.clock();
    const eventId = uuidv7();
    const body = JSON.stringify({
      id: eventId,
      type: 'webhook.test',
      createdAt: now.toISOString(),
      workspaceId,
      data: { endpointId, message: 'A test event from Ferry' },
    });
    const created = await this.db.run(workspaceId, (tx) =>
      this.deliveries.insertOne(tx, { id: uuidv7(), endpointId, eventId, eventType: 'webhook.test', body, test: true, replayOf: null, at: now }),
    );
    const claimed = await this.db.run(workspaceId, (tx) => this.deliveries.claim(tx, created.id));
    if (claimed) await this.delivery.attempt(workspaceId, claimed, endpoint, { retry: false });
    return this.view(workspaceId, created.id);
  }

  /**
   * Delivers a delivery's event again, as a new delivery on the retry schedule, with the same
   * webhook-id (the event id) so the receiver can tell it is the same event.
   */
  async replay(workspaceId: string, deliveryId: string): Promise<WebhookDeliveryView> {
    if (!isUuid(deliveryId)) throw DomainError.notFound('webhook_delivery');
    const replayed = await this.db.run(workspaceId, async (tx) => {
      const original = await this.deliveries.find(tx, deliveryId);
      if (!original) throw DomainError.notFound('webhook_delivery');
      const endpoint = await this.endpointRows.find(tx, original.endpointId);
      if (!endpoint) throw DomainError.notFound('webhook_delivery');
      if (endpoint.disabledAt) {
        throw DomainError.conflict('webhook_endpoint.disabled', 'The endpoint is disabled; enable it (PATCH {"enabled": true}) before replaying');
      }
      const row = await this.deliveries.insertOne(tx, {
        id: uuidv7(),
        endpointId: original.endpointId,
        eventId: original.eventId,
        eventType: original.eventType,
        body: original.body,
        test: original.test,
        replayOf: original.replayOf ?? original.id,
        at: this.clock(),
      });
      await this.outbox.write(tx, 'webhook.deliver', { workspaceId, deliveryId: row.id });
      return row;
    });
    return this.view(workspaceId, replayed.id);
  }

  private async view(workspaceId: string, deliveryId: string): Promise<WebhookDeliveryView> {
    return this.db.run(workspaceId, async (tx) => {
      const row = await this.deliveries.find(tx, deliveryId);
      if (!row) throw DomainError.notFound('webhook_delivery');
      return deliveryView(row, await this.deliveries.attemptsOf(tx, [row.id]));
    });
  }
}
