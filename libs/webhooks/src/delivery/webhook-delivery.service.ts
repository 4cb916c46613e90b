import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { GroupCommit, TenantDb, type TenantTx } from '#database';
import { OutboundGuard } from '#net';
import { JobDeferred, Outbox } from '#queue';
import type { EndpointRow } from '../endpoints/webhook-endpoints.repository.js';
import { WebhookEndpointsRepository } from '../endpoints/webhook-endpoints.repository.js';
import { WebhookEndpointsService } from '../endpoints/webhook-endpoints.service.js';
import { WEBHOOK_CLOCK, type WebhookClock } from '../webhook-clock.js';
import { failedTooLong, retryDelayMs } from '../webhook-schedule.js';
import { EndpointSlots } from './endpoint-slots.js';
import { type Claimed, type DeliveryRow, type Success, WebhookDeliveriesRepository } from './webhook-deliveries.repository.js';
import { sendWebhook, type WebhookResponse } from './webhook-sender.js';

/** How long a delivery waits when its endpoint is at its in-flight cap (plus jitter). */
const BUSY_ENDPOINT_DELAY_MS = 250;

interface AttemptOptions {
  /** false: one try only (a test-send). */
  retry: boolean;
  /** A retry gets a `webhook.deliver` job of its own, written with the outcome (a batch's delivery). */
  retryJob?: boolean;
}

/**
 * Runs the webhook delivery jobs. `webhook.deliver_batch` carries the first try of every delivery of
 * one event: claimed together (each with its endpoint), sent concurrently, each success recorded
 * as soon as it is back. A delivery whose endpoint is at its in-flight cap, or whose try failed and
 * is to be retried, goes on alone as a `webhook.deliver` job (written through the outbox), so a slow
 * endpoint never holds another's deliveries. `webhook.deliver` is one try of one delivery; Postgres
 * holds the schedule (next_attempt_at) and the job is deferred until then (JobDeferred spends no
 * BullMQ try). Idempotent: a settled delivery is left alone, a delivery another worker holds is left
 * to it, and a job that arrives early (a re-publish) waits for the scheduled time.
 */
@Injectable()
export class WebhookDeliveryService {
  /** Successful tries of concurrent deliveries, recorded together per workspace (one transaction). */
  private readonly successes = new GroupCommit<string, Success, void>(async (workspaceId, items) => {
    await this.db.run(workspaceId, (tx) => this.deliveries.recordSucceeded(tx, items));
    return items.map(() => undefined);
  });

  constructor(
    private readonly db: TenantDb,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly endpointSecrets: WebhookEndpointsService,
    private readonly slots: EndpointSlots,
    private readonly guard: OutboundGuard,
    private readonly outbox: Outbox,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(WEBHOOK_CLOCK) private readonly clock: WebhookClock,
  ) {}

  async deliver(workspaceId: string, deliveryId: string): Promise<void> {
    // Claimed with its endpoint in one statement: the common case is due, enabled and free.
    const claimed = await this.db.run(workspaceId, (tx) => this.deliveries.claimWithEndpoint(tx, deliveryId));
    if (!claimed) return; // settled, gone, or another worker holds it
    const { delivery, endpoint } = claimed;
    if (endpoint.disabledAt) {
      await this.db.run(workspaceId, (tx) => this.settleDisabled(tx, [claimed]));
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

  /**
   * The first try of each delivery of a batch that is due and not held elsewhere. Those whose
   * endpoint is at its cap are handed to jobs of their own; the rest are sent at once, each
   * recorded when its answer is back (a slow one delays no other's record). Run again (a crash, a
   * re-publish), it takes only what is still pending and due.
   */
  async deliverBatch(workspaceId: string, deliveryIds: string[]): Promise<void> {
    const claimed = await this.db.run(workspaceId, (tx) => this.deliveries.claimDue(tx, deliveryIds, this.clock()));
    await this.deliverClaimed(workspaceId, claimed);
  }

  /** deliverBatch for deliveries this caller holds already (the fan-out writes its first batch claimed). */
  async deliverClaimed(workspaceId: string, claimed: Claimed[]): Promise<void> {
    if (claimed.length === 0) return;
    const disabled = claimed.filter((c) => c.endpoint.disabledAt);
    const live = claimed.filter((c) => !c.endpoint.disabledAt);
    // Should this job fail before any try, its claims are let go (if the database lets us), so that
    // its retry takes them again at once instead of after the claims lapse.
    const letGo = () => this.db.run(workspaceId, (tx) => this.deliveries.releaseMany(tx, claimed.map((c) => c.delivery.id))).catch(() => undefined);
    let taken: boolean[];
    try {
      taken = await this.slots.acquireMany(live.map((c) => ({ endpointId: c.endpoint.id, holder: c.delivery.id })));
    } catch (error) {
      await letGo();
      throw error;
    }
    const busy = live.filter((_, i) => !taken[i]);
    const ready = live.filter((_, i) => taken[i]);
    if (disabled.length > 0 || busy.length > 0) {
      try {
        await this.db.run(workspaceId, async (tx) => {
          await this.settleDisabled(tx, disabled);
          await this.queueAlone(tx, busy.map((c) => c.delivery.id));
        });
      } catch (error) {
        await Promise.all(ready.map((c) => this.slots.release(c.endpoint.id, c.delivery.id))).catch(() => undefined);
        await letGo();
        throw error;
      }
    }
    const outcomes = await Promise.allSettled(
      ready.map(async ({ delivery, endpoint }) => {
        try {
          await this.attempt(workspaceId, delivery, endpoint, { retry: true, retryJob: true });
        } finally {
          await this.slots.release(endpoint.id, delivery.id);
        }
      }),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Lets go of claimed deliveries whose endpoint is at its cap: each goes on as a `webhook.deliver` job of its own. */
  async queueAlone(tx: TenantTx, deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    await this.deliveries.releaseMany(tx, deliveryIds);
    await this.outbox.writeMany(tx, 'webhook.deliver', deliveryIds.map((deliveryId) => ({ workspaceId: tx.workspaceId, deliveryId })));
  }

  /** Lets go of a claimed delivery and puts its job back for later (no BullMQ try spent). */
  private async deferClaimed(workspaceId: string, deliveryId: string, delayMs: number, reason: string): Promise<never> {
    await this.db.run(workspaceId, (tx) => this.deliveries.release(tx, deliveryId));
    throw new JobDeferred(delayMs, reason);
  }

  private async settleDisabled(tx: TenantTx, claimed: Claimed[]): Promise<void> {
    for (const { delivery } of claimed) {
      await this.deliveries.settle(tx, delivery.id, { status: 'failed', attemptCount: delivery.attemptCount, nextAttemptAt: null, failureReason: 'The endpoint is disabled' });
    }
  }

  /**
   * One try of a claimed delivery, recorded: its attempt row, the delivery's new state, and the
   * endpoint's (a failing streak, disabled on 410 or after 5 days of failure). Answers the delay
   * before the next try, or null when the delivery is settled. A test delivery is tried once and
   * leaves the endpoint's state alone.
   */
  async attempt(workspaceId: string, delivery: DeliveryRow, endpoint: EndpointRow, options: AttemptOptions): Promise<number | null> {
    const now = this.clock();
    const response = await this.send(endpoint, delivery.eventId, delivery.body, now);
    return this.record(workspaceId, delivery, endpoint, now, response, options);
  }

  /** One signed POST of an event's body to the endpoint, stamped `now`; records nothing. */
  async send(endpoint: EndpointRow, eventId: string, body: string, now: Date): Promise<WebhookResponse> {
    return sendWebhook(this.guard, {
      url: endpoint.url,
      webhookId: eventId,
      timestamp: now,
      body,
      secrets: this.endpointSecrets.signingSecrets(endpoint, now),
      timeoutMs: this.config.webhooks.timeoutMs,
    });
  }

  /** Records a try of a claimed delivery made at `now` (attempt's second half): the delay before the next try, or null when settled. */
  async record(workspaceId: string, delivery: DeliveryRow, endpoint: EndpointRow, now: Date, response: WebhookResponse, options: AttemptOptions): Promise<number | null> {
    const attemptCount = delivery.attemptCount + 1;
    if (response.succeeded) {
      const { statusCode, latencyMs, responseExcerpt } = response;
      await this.successes.submit(workspaceId, { deliveryId: delivery.id, endpointId: endpoint.id, test: delivery.test, attempt: attemptCount, attemptedAt: now, statusCode, latencyMs, responseExcerpt });
      return null;
    }
    return this.recordFailure(workspaceId, delivery, endpoint, now, attemptCount, response, options);
  }

  private async recordFailure(
    workspaceId: string,
    delivery: DeliveryRow,
    endpoint: EndpointRow,
    now: Date,
    attemptCount: number,
    response: WebhookResponse,
    options: AttemptOptions,
  ): Promise<number | null> {
    const scale = this.config.webhooks.retryScale;
    return this.db.run(workspaceId, async (tx) => {
      await this.deliveries.insertAttempt(tx, delivery.id, { attempt: attemptCount, attemptedAt: now, ...response });
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
      // The job that will make the next try, written with the schedule (it waits, deferred, until then).
      if (options.retryJob) await this.outbox.write(tx, 'webhook.deliver', { workspaceId, deliveryId: delivery.id });
      return delay;
    });
  }
}
