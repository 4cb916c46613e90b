import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { TenantDb } from '#database';
import { OutboundGuard } from '#net';
import { JobDeferred } from '#queue';
import type { EndpointRow } from '../endpoints/webhook-endpoints.repository.js';
import { WebhookEndpointsRepository } from '../endpoints/webhook-endpoints.repository.js';
import { WebhookEndpointsService } from '../endpoints/webhook-endpoints.service.js';
import { WEBHOOK_CLOCK, type WebhookClock } from '../webhook-clock.js';
import { failedTooLong, retryDelayMs } from '../webhook-schedule.js';
import { EndpointSlots } from './endpoint-slots.js';
import { type DeliveryRow, WebhookDeliveriesRepository } from './webhook-deliveries.repository.js';
import { sendWebhook } from './webhook-sender.js';

/** How long a delivery waits when its endpoint is at its in-flight cap (plus jitter). */
const BUSY_ENDPOINT_DELAY_MS = 250;

/**
 * Runs the `webhook.deliver` job: one try of one delivery, then its record. Postgres holds the
 * schedule (next_attempt_at); the job is deferred until then (JobDeferred spends no BullMQ try).
 * Idempotent: a settled delivery is left alone, a delivery another worker holds is left to it, and a
 * job that arrives early (a re-publish) waits for the scheduled time.
 */
@Injectable()
export class WebhookDeliveryService {
  constructor(
    private readonly db: TenantDb,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly endpointSecrets: WebhookEndpointsService,
    private readonly slots: EndpointSlots,
    private readonly guard: OutboundGuard,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(WEBHOOK_CLOCK) private readonly clock: WebhookClock,
  ) {}

  async deliver(workspaceId: string, deliveryId: string): Promise<void> {
    // Claimed first (one transaction with the endpoint read): the common case is due, enabled and free.
    const claimed = await this.db.run(workspaceId, async (tx) => {
      const delivery = await this.deliveries.claim(tx, deliveryId);
      const endpoint = delivery ? await this.endpoints.find(tx, delivery.endpointId) : null;
      return delivery && endpoint ? { delivery, endpoint } : null;
    });
    if (!claimed) return; // settled, gone, or another worker holds it
    const { delivery, endpoint } = claimed;
    if (endpoint.disabledAt) {
      await this.db.run(workspaceId, (tx) =>
        this.deliveries.settle(tx, delivery.id, { status: 'failed', attemptCount: delivery.attemptCount, nextAttemptAt: null, failureReason: 'The endpoint is disabled' }),
      );
      return;
    }
    const wait = (delivery.nextAttemptAt?.getTime() ?? 0) - this.clock().getTime();
    if (wait > 0) await this.deferClaimed(workspaceId, delivery.id, wait, 'webhook retry not due yet');
    if (!(await this.slots.acquire(endpoint.id, delivery.id))) {
      await this.deferClaimed(workspaceId, delivery.id, BUSY_ENDPOINT_DELAY_MS + Math.round(Math.random() * BUSY_ENDPOINT_DELAY_MS * 3), 'endpoint at its in-flight cap');
    }
    try {
      const retryInMs = await this.attempt(workspaceId, delivery, endpoint, { retry: true });
      if (retryInMs !== null) throw new JobDeferred(retryInMs, 'webhook retry scheduled');
    } finally {
      await this.slots.release(endpoint.id, delivery.id);
    }
  }

  /** Lets go of a claimed delivery and puts its job back for later (no BullMQ try spent). */
  private async deferClaimed(workspaceId: string, deliveryId: string, delayMs: number, reason: string): Promise<never> {
    await this.db.run(workspaceId, (tx) => this.deliveries.release(tx, deliveryId));
    throw new JobDeferred(delayMs, reason);
  }

  /**
   * One try of a claimed delivery, recorded: its attempt row, the delivery's new state, and the
   * endpoint's (a failing streak, disabled on 410 or after 5 days of failure). Answers the delay
   * before the next try, or null when the delivery is settled. A test delivery is tried once and
   * leaves the endpoint's state alone.
   */
  async attempt(workspaceId: string, delivery: DeliveryRow, endpoint: EndpointRow, options: { retry: boolean }): Promise<number | null> {
    const now = this.clock();
    const response = await sendWebhook(this.guard, {
      url: endpoint.url,
      webhookId: delivery.eventId,
      timestamp: now,
      body: delivery.body,
      secrets: this.endpointSecrets.signingSecrets(endpoint, now),
      timeoutMs: this.config.webhooks.timeoutMs,
    });
    const attemptCount = delivery.attemptCount + 1;
    const scale = this.config.webhooks.retryScale;
    return this.db.run(workspaceId, async (tx) => {
      await this.deliveries.insertAttempt(tx, delivery.id, { attempt: attemptCount, attemptedAt: now, ...response });
      if (response.succeeded) {
        await this.deliveries.settle(tx, delivery.id, { status: 'succeeded', attemptCount, nextAttemptAt: null, failureReason: null });
        if (!delivery.test) await this.endpoints.markSucceeded(tx, endpoint.id);
        return null;
      }
      const failed = (reason: string) => this.deliveries.settle(tx, delivery.id, { status: 'failed', attemptCount, nextAttemptAt: null, failureReason: reason });
      if (delivery.test || !options.retry) {
        await failed(response.error ?? 'Failed');
        return null;
      }
      if (response.statusCode === 410) {
        await this.endpoints.disable(tx, endpoint.id, now, 'The endpoint answered 410 Gone');
        await failed('The endpoint answered 410 Gone: it is disabled');
        return null;
      }
      const failingSince = await this.endpoints.markFailing(tx, endpoint.id, now);
      if (failingSince && failedTooLong(failingSince, now, scale)) {
        await this.endpoints.disable(tx, endpoint.id, now, `Every delivery failed since ${failingSince.toISOString()} (5 days)`);
        await failed('The endpoint failed for 5 days: it is disabled');
        return null;
      }
      const delay = retryDelayMs(attemptCount, scale);
      if (delay === null) {
        await failed(`${response.error ?? 'Failed'} (after ${attemptCount} tries)`);
        return null;
      }
      await this.deliveries.settle(tx, delivery.id, { status: 'pending', attemptCount, nextAttemptAt: new Date(now.getTime() + delay), failureReason: response.error });
      return delay;
    });
  }
}
