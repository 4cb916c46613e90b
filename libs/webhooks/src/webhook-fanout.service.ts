import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { type EventEnvelope, uuidv7 } from '#domain';
import { GroupCommit, TenantDb } from '#database';
import { Outbox } from '#queue';
import type { EndpointRow } from './endpoints/webhook-endpoints.repository.js';
import { EndpointSlots } from './delivery/endpoint-slots.js';
import { type FirstSuccess, WebhookFirstTriesRepository } from './delivery/first-tries.repository.js';
import { WebhookDeliveriesRepository } from './delivery/webhook-deliveries.repository.js';
import { WebhookDeliveryService } from './delivery/webhook-delivery.service.js';
import type { WebhookResponse } from './delivery/webhook-sender.js';
import { WEBHOOK_CLOCK, type WebhookClock } from './webhook-clock.js';

/** Deliveries per `webhook.deliver_batch` job: an event with more subscribed endpoints gets several. */
export const DELIVERIES_PER_BATCH = 100;

/**
 * How long the event job waits for its endpoints' answers (at most half the send timeout). Past it,
 * the deliveries still waiting are written (claimed) and the job ends, so an endpoint slower than
 * this holds an event job no longer.
 */
export const FIRST_TRY_WAIT_MS = 1000;

/** A first try the event job handed off: its endpoint and its answer (to come, or come and not a success). */
interface HandedOff {
  endpoint: EndpointRow;
  /** null: the endpoint was at its in-flight cap, nothing was sent. */
  answer: Promise<WebhookResponse> | null;
}

/**
 * Turns one committed event into one delivery per subscribed, enabled endpoint of its workspace.
 *
 * The event job sends the first tries itself, before writing anything. A delivery whose endpoint
 * answers 2xx within the wait (FIRST_TRY_WAIT_MS) is written once, settled, with its attempt
 * (concurrent events share that transaction, whatever their workspace): no pending row updated later, no batch
 * row, no job. Each other delivery (failed, still waiting, or its endpoint at
 * its in-flight cap) is written pending and claimed, with a `webhook.deliver_batch` outbox row, in one
 * statement, and the job ends: the answers still to come are recorded as they arrive, a failure
 * schedules its retry, a busy endpoint's delivery goes on as its own `webhook.deliver` job. The batch
 * row is marked only when that is all done, so a process that dies first leaves it to the relay,
 * whose run takes what is still pending once the claims lapse. A process that dies before writing
 * leaves the event job to be run again (BullMQ's stalled check, or its retry): it sends again what no
 * row records (the same webhook-id: receivers deduplicate), so nothing is lost.
 *
 * Past `inlineLimit` hand-offs in progress, or past DELIVERIES_PER_BATCH endpoints, the event's
 * deliveries are all written pending first, a `webhook.deliver_batch` job per batch (the first batch
 * sent here unless the limit is reached).
 */
@Injectable()
export class WebhookFanout implements OnModuleDestroy {
  private readonly logger = new Logger(WebhookFanout.name);
  private readonly running = new Set<Promise<void>>();
  private readonly inlineLimit: number;
  private readonly answerWaitMs: number;
  /** Each event's targets, read by group commit across workspaces (as `successes` writes). */
  private readonly targetReads = new GroupCommit<'all', EventEnvelope, EndpointRow[]>(async (_, events) => {
    const reads: Array<Promise<EndpointRow[]>> = [];
    await this.db.commitAcross(events.map((event) => ({ workspaceId: event.workspaceId, work: (tx) => void reads.push(this.firstTries.targets(tx, event)) })));
    return Promise.all(reads);
  });

  /**
   * Settled first tries, by group commit across workspaces: those that arrive while a write is in
   * flight share the next one, one transaction for all (TenantDb.commitAcross).
   */
  private readonly successes = new GroupCommit<'all', { workspaceId: string; success: FirstSuccess }, void>(async (_, items) => {
    const byWorkspace = new Map<string, FirstSuccess[]>();
    for (const { workspaceId, success } of items) {
      const tries = byWorkspace.get(workspaceId);
      if (tries) tries.push(success);
      else byWorkspace.set(workspaceId, [success]);
    }
    await this.db.commitAcross([...byWorkspace].map(([workspaceId, tries]) => ({ workspaceId, work: (tx) => this.firstTries.recordSucceeded(tx, tries) })));
    return items.map(() => undefined);
  });

  constructor(
    private readonly db: TenantDb,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly firstTries: WebhookFirstTriesRepository,
    private readonly delivery: WebhookDeliveryService,
    private readonly slots: EndpointSlots,
    private readonly outbox: Outbox,
    @Inject(WEBHOOK_CLOCK) private readonly clock: WebhookClock,
    @Inject(CONFIG) config: FerryConfig,
  ) {
    this.inlineLimit = config.worker.concurrency.webhooks;
    this.answerWaitMs = Math.min(FIRST_TRY_WAIT_MS, config.webhooks.timeoutMs / 2);
  }

  async fanOut(event: EventEnvelope): Promise<void> {
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, workspaceId: event.workspaceId, data: event.data });
    const written = { id: event.id, type: event.type, body };
    if (this.running.size >= this.inlineLimit) return this.writeFirst(event.workspaceId, written, false);
    const targets = await this.targetReads.submit('all', event);
    if (targets.length === 0) return;
    if (targets.length > DELIVERIES_PER_BATCH) return this.writeFirst(event.workspaceId, written, true);

    const now = this.clock();
    const holders = targets.map(() => uuidv7());
    const taken = await this.slots.acquireMany(targets.map((endpoint, i) => ({ endpointId: endpoint.id, holder: holders[i]! })));
    // A slot is the endpoint's: it is let go as soon as the endpoint has answered (one not let go lapses by itself).
    const answers = targets.map((endpoint, i) =>
      taken[i] ? this.delivery.send(endpoint, event.id, body, now).finally(() => this.slots.release(endpoint.id, holders[i]!).catch(() => undefined)) : null,
    );
    const settled = await answeredWithin(answers, this.answerWaitMs);

    const succeeded: FirstSuccess[] = [];
    const rest: HandedOff[] = [];
    targets.forEach((endpoint, i) => {
      const answer = settled[i];
      if (answer?.succeeded) {
        const { statusCode, latencyMs, responseExcerpt } = answer;
        succeeded.push({ deliveryId: holders[i]!, endpointId: endpoint.id, event: written, attemptedAt: now, statusCode, latencyMs, responseExcerpt });
      } else rest.push({ endpoint, answer: answers[i]! });
    });
    await Promise.all(this.successes.submitMany('all', succeeded.map((success) => ({ workspaceId: event.workspaceId, success }))));
    if (rest.length > 0) await this.handOff(event.workspaceId, written, now, rest);
  }

  /**
   * Writes the deliveries of the tries not settled here, claimed, with their batch row, then records
   * each answer as it arrives (not waited for); the batch row is marked once all are recorded.
   */
  private async handOff(workspaceId: string, event: { id: string; type: string; body: string }, now: Date, rest: HandedOff[]): Promise<void> {
    const inline = await this.db.run(workspaceId, async (tx) => {
      const written = await this.deliveries.fanOut(tx, event, now, DELIVERIES_PER_BATCH, true, rest.map((r) => r.endpoint.id));
      const busy = new Set(rest.filter((r) => r.answer === null).map((r) => r.endpoint.id));
      await this.delivery.queueAlone(tx, (written.inline?.claimed ?? []).filter((c) => busy.has(c.endpoint.id)).map((c) => c.delivery.id));
      return written.inline;
    });
    if (!inline) return; // another run of the event wrote them all, and records them
    const claimed = new Map(inline.claimed.map((c) => [c.endpoint.id, c]));
    const recorded = rest.map(async ({ endpoint, answer }) => {
      const row = claimed.get(endpoint.id);
      if (row && answer) await this.delivery.record(workspaceId, row.delivery, row.endpoint, now, await answer, { retry: true, retryJob: true });
    });
    this.runInline(
      inline.batchId,
      Promise.allSettled(recorded).then((outcomes) => {
        const failed = outcomes.find((outcome) => outcome.status === 'rejected');
        if (failed) throw failed.reason;
      }),
    );
  }

  /** The event's deliveries written pending first, as batches: too many endpoints, or too many hand-offs in progress. */
  private async writeFirst(workspaceId: string, event: { id: string; type: string; body: string }, sendFirstBatch: boolean): Promise<void> {
    const { inline } = await this.db.run(workspaceId, async (tx) => {
      const written = await this.deliveries.fanOut(tx, event, this.clock(), DELIVERIES_PER_BATCH, sendFirstBatch);
      for (const [id, deliveryIds] of written.queued) {
        const data = { workspaceId, deliveryIds };
        // The row was inserted with the deliveries; published once the transaction commits.
        this.outbox.publishAfterCommit(tx, { id, jobName: 'webhook.deliver_batch', payload: JSON.stringify(data), data });
      }
      return written;
    });
    if (inline) this.runInline(inline.batchId, this.delivery.deliverClaimed(workspaceId, inline.claimed));
  }

  /**
   * Keeps track of a batch this process sends itself (`work`): its outbox row is marked once the work
   * is done; failed, the row is left to the relay.
   */
  private runInline(batchId: string, work: Promise<void>): void {
    const run = work
      .then(() => this.outbox.ranInline(batchId))
      .catch((error: unknown) => this.logger.warn(`webhook batch ${batchId} failed; the relay will queue it: ${String(error)}`))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Shutdown: the runs in progress finish (each send has its timeout), so their outcomes are recorded. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.running]);
  }
}

/** The answers that have arrived within `ms` (undefined: none yet, no try, or the try failed to run). */
async function answeredWithin<T>(tries: Array<Promise<T> | null>, ms: number): Promise<Array<T | undefined>> {
  const answers: Array<T | undefined> = tries.map(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const all = Promise.all(tries.map((tried, i) => tried?.then((answer) => void (answers[i] = answer), () => undefined)));
  await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  return [...answers];
}
