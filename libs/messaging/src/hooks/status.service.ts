import { Injectable } from '@nestjs/common';
import type { StatusEvent } from '#channels';
import { canTransition, isUuid } from '#domain';
import { TenantDb, type TenantTx } from '#database';
import { JobRetryable, Outbox } from '#queue';
import { countSent } from '../delivery/outbound-messages.repository.js';
import { InboundEventsRepository } from './inbound-events.repository.js';
import { type ReceiptTarget, ReceiptsRepository } from './receipts.repository.js';
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
 */
@Injectable()
export class StatusService {
  constructor(
    private readonly db: TenantDb,
    private readonly events: InboundEventsRepository,
    private readonly receipts: ReceiptsRepository,
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
    const moved = canTransition(message.status, event.status);
    if (moved) {
      await this.receipts.setStatus(tx, message.id, event.status, event.status === 'failed' ? failureOf(event) : undefined);
      // A receipt that takes a message out of the queue (its send's answer was lost) proves it was sent.
      if (message.status === 'queued' && event.status !== 'failed') await countSent(this.outbox, tx, message.id);
    }
    const attempt = await this.receipts.lockAttemptForReceipt(tx, message.id, event.providerMessageId);
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
    await this.events.markProcessed(tx, row.id);
    return moved || recorded ? 'applied' : 'stale';
  }

  /** By our id when the provider echoes it (a send left in doubt learns its provider id), else by the provider's id. */
  private async findMessage(tx: TenantTx, inboxId: string, event: StatusEvent): Promise<ReceiptTarget | null> {
    if (event.messageId && isUuid(event.messageId)) {
      const message = await this.receipts.lockOutboundById(tx, event.messageId);
      if (message) {
        if (message.externalId === null) await this.receipts.setExternalIdIfMissing(tx, message.id, event.providerMessageId);
        return message;
      }
    }
    return this.receipts.lockOutboundByProviderId(tx, inboxId, event.providerMessageId);
  }
}

function failureOf(event: StatusEvent): { code: string; reason: string } {
  if (!event.error) return DEFAULT_FAILURE;
  return { code: event.error.code, reason: event.error.reason || DEFAULT_FAILURE.reason };
}
