import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import type { EventEnvelope } from '#domain';
import { TenantDb } from '#database';
import { Outbox } from '#queue';
import { WebhookDeliveriesRepository } from './delivery/webhook-deliveries.repository.js';
import { WebhookDeliveryService } from './delivery/webhook-delivery.service.js';
import { WEBHOOK_CLOCK, type WebhookClock } from './webhook-clock.js';

/** Deliveries per `webhook.deliver_batch` job: an event with more subscribed endpoints gets several. */
export const DELIVERIES_PER_BATCH = 100;

/**
 * Turns one committed event into one delivery per subscribed, enabled endpoint of its workspace, and
 * one `webhook.deliver_batch` job per DELIVERIES_PER_BATCH of them, written through the outbox, all in
 * one statement. Idempotent on (endpoint, event id): a re-run of the event job writes nothing twice.
 *
 * The first batch is usually not queued: it is written claimed and sent by this process once the rows
 * have committed, which spares each event a queue round trip, a job and a claiming transaction. The
 * event job does not wait for those sends (a slow endpoint must not hold up the fan-out of other
 * events); at most `inlineLimit` such runs go at once, and past that the batch is queued like the
 * others. A run's outbox row is marked only when the run has finished: should the process die first
 * (or the run fail), the row is still unpublished and the relay publishes it like any missed job,
 * whose run takes what is still pending once the claims lapse.
 */
@Injectable()
export class WebhookFanout implements OnModuleDestroy {
  private readonly logger = new Logger(WebhookFanout.name);
  private readonly running = new Set<Promise<void>>();
  private readonly inlineLimit: number;

  constructor(
    private readonly db: TenantDb,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly delivery: WebhookDeliveryService,
    private readonly outbox: Outbox,
    @Inject(WEBHOOK_CLOCK) private readonly clock: WebhookClock,
    @Inject(CONFIG) config: FerryConfig,
  ) {
    this.inlineLimit = config.worker.concurrency.webhooks;
  }

  async fanOut(event: EventEnvelope): Promise<void> {
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, workspaceId: event.workspaceId, data: event.data });
    const inlineAllowed = this.running.size < this.inlineLimit;
    const { inline } = await this.db.run(event.workspaceId, async (tx) => {
      const written = await this.deliveries.fanOut(tx, { id: event.id, type: event.type, body }, this.clock(), DELIVERIES_PER_BATCH, inlineAllowed);
      for (const [id, deliveryIds] of written.queued) {
        const data = { workspaceId: event.workspaceId, deliveryIds };
        // The row was inserted with the deliveries; published once the transaction commits.
        this.outbox.publishAfterCommit(tx, { id, jobName: 'webhook.deliver_batch', payload: JSON.stringify(data), data });
      }
      return written;
    });
    if (!inline) return;
    const run = this.delivery
      .deliverClaimed(event.workspaceId, inline.claimed)
      .then(() => this.outbox.ranInline(inline.batchId))
      .catch((error: unknown) => this.logger.warn(`webhook batch ${inline.batchId} failed; the relay will queue it: ${String(error)}`))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Shutdown: the runs in progress finish (each send has its timeout), so their outcomes are recorded. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.running]);
  }
}
