import { Injectable } from '@nestjs/common';
import type { StatusEvent } from '#channels';
import { canTransition, isUuid, receiptEffect } from '#domain';
import { TenantDb, type TenantTx } from '#database';
import { JobRetryable, Outbox } from '#queue';
import { FallbackRepository } from '../delivery/fallback.repository.js';
import { FallbackService } from '../delivery/fallback.service.js';
import { countSent, OutboundMessagesRepository } from '../delivery/outbound-messages.repository.js';
import { EventWriter } from '../events/event-writer.js';
import { InboundEventsRepository } from './inbound-events.repository.js';
import { type ReceiptAttempt, type ReceiptTarget, ReceiptsRepository } from './receipts.repository.js';
import { failureText, MalformedStoredEvent, readStoredEvent } from './stored-event.js';

/**
 * - applied: the message moved forward (or its receipt was recorded);
 * - stale: the message is already as far or further (a late or repeated receipt): nothing changed;
 * - already_processed, missing: nothing to do; failed: the stored event cannot be read (kept, with why).
 */
export type StatusOutcome = 'applied' | 'stale' | 'already_processed' | 'missing' | 'failed';

const DEFAULT_FAILURE = { code: 'provider.failed', reason: 'The provider reported that the message was not delivered' };

/**
 * The `status.apply` job: a provider's delivery receipt through the one state machine (canTransition):
 * status only moves forward, however late, repeated or out of order receipts arrive; a failure keeps
 * the provider's code and reason. A receipt for a message we cannot find yet (it beat our own record
 * of the provider's id) is retried with backoff, never dropped; the event row says why meanwhile.
 * Fallback: the message's status follows its current hop only (receiptEffect in #domain): an earlier
 * hop's receipt is recorded on its attempt, except a delivered one, which the message adopts; a
 * failed receipt on the current hop sends the message on to the next identity of its route.
 */
@Injectable()
export class StatusService {
  constructor(
    private readonly db: TenantDb,
    private readonly events: InboundEventsRepository,
    private readonly receipts: ReceiptsRepository,
    private readonly fallback: FallbackService,
    private readonly hops: FallbackRepository,
    private readonly outbound: OutboundMessagesRepository,
    private readonly messageEvents: EventWriter,
    private readonly outbox: Outbox,
  ) {}

  /** Throws JobRetryable while the receipt's message is not found; idempotent. */
  async apply(workspaceId: string, eventId: string): Promise<StatusOutcome> {
    let result: StatusOutcome | { unmatched: string };
    try {
      result = await this.db.run(workspaceId, (tx) => this.applyIn(tx, eventId));
    } catch (error) {
      // Kept on the row whatever happens next: after the last try, the error stays there.
      await this.db.run(workspaceId, (tx) => this.events.recordError(tx, eventId, failureText(error))).catch(() => undefined);
      if (error instanceof MalformedStoredEvent) return 'failed';
      throw error;
    }
    if (typeof result === 'object') throw new JobRetryable(result.unmatched);
    return result;
  }

  private async applyIn(tx: TenantTx, eventId: string): Promise<StatusOutcome | { unmatched: string }> {
    const row = isUuid(eventId) ? await this.events.findForUpdate(tx, eventId) : null;
    if (!row) return 'missing';
    if (row.processedAt) return 'already_processed';
    const event = readStoredEvent(row.kind, row.event);
    if (event.kind !== 'status') throw new MalformedStoredEvent(`a ${event.kind} event is not a delivery receipt`);
    const message = await this.findMessage(tx, row.inboxId, event);
    if (!message) {
      const unmatched = `No outbound message with provider id ${event.providerMessageId}${event.messageId ? ` or id ${event.messageId}` : ''} yet; retried`;
      await this.events.recordError(tx, row.id, unmatched);
      return { unmatched };
    }
    const attempt = await this.receipts.lockAttemptForReceipt(tx, message.id, event.providerMessageId, row.inboxId);
    // No attempt of this inbox matched and the message is on another inbox now: an earlier hop's try
    // that left no trace to record on; it must not move the message.
    const foreign = !attempt && message.inboxId !== null && message.inboxId !== row.inboxId;
    const effect = foreign ? { kind: 'attempt_only' as const } : receiptEffect(message, attempt, event.status);
    let moved = false;
    if (effect.kind === 'current') {
      if (message.externalId === null && event.messageId === message.id) await this.receipts.setExternalIdIfMissing(tx, message.id, event.providerMessageId);
      moved = canTransition(message.status, event.status);
      if (moved) await this.move(tx, message, attempt, event);
      // A receipt that takes a message out of the queue (its send's answer was lost) proves it was sent.
      if (moved && message.status === 'queued' && event.status !== 'failed') await countSent(this.outbox, tx, message.id);
    } else if (effect.kind === 'adopt' && attempt) {
      await this.hops.adopt(tx, message.id, { ...attempt, providerMessageId: event.providerMessageId }, effect.status);
      // Delivered by an earlier hop: sent, whatever became of the later ones (usage counts a message once).
      await countSent(this.outbox, tx, message.id);
      moved = true;
    }
    if (moved) await this.messageEvents.message(tx, 'message.updated', message.id);
    let recorded = false;
    if (attempt) {
      const receiptMoves = attempt.receiptStatus === null || canTransition(attempt.receiptStatus, event.status);
      if (receiptMoves || attempt.open) {
        await this.receipts.recordReceipt(tx, attempt.id, {
          status: receiptMoves ? event.status : null,
          at: event.occurredAt,
          providerMessageId: event.providerMessageId,
          settleOpen: attempt.open,
        });
        recorded = true;
      }
    }
    await this.events.markProcessed(tx, [row.id]);
    return moved || recorded ? 'applied' : 'stale';
  }

  /** The current hop's receipt moves the message; a failure goes on to the next identity of its route, if any. */
  private async move(tx: TenantTx, message: ReceiptTarget, attempt: ReceiptAttempt | null, event: StatusEvent): Promise<void> {
    if (event.status !== 'failed') return this.receipts.setStatus(tx, message.id, event.status);
    const row = await this.outbound.lockForSend(tx, message.id);
    if (row) await this.fallback.leave(tx, row, attempt?.id ?? null, 'receipt_failed', failureOf(event));
  }

  /** By our id when the provider echoes it (a send left in doubt learns its provider id), else by the provider's id. */
  private async findMessage(tx: TenantTx, inboxId: string, event: StatusEvent): Promise<ReceiptTarget | null> {
    if (event.messageId && isUuid(event.messageId)) {
      const message = await this.receipts.lockOutboundById(tx, event.messageId);
      if (message) return message;
    }
    return this.receipts.lockOutboundByProviderId(tx, inboxId, event.providerMessageId);
  }
}

function failureOf(event: StatusEvent): { code: string; reason: string } {
  if (!event.error) return DEFAULT_FAILURE;
  return { code: event.error.code, reason: event.error.reason || DEFAULT_FAILURE.reason };
}
