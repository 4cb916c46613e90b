import { Injectable } from '@nestjs/common';
import type { ContactEvent, InboundMessageEvent } from '#channels';
import { type Channel, DomainError, isUuid } from '#domain';
import { TenantDb, type TenantTx } from '#database';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { type InboundMessage, InboundService } from '../conversations/inbound.service.js';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { InboundEventsRepository } from './inbound-events.repository.js';
import { contactOfSender } from './sender-contact.js';
import { failureText, MalformedStoredEvent, readStoredEvent } from './stored-event.js';

/**
 * - processed: the event's writes are committed, with the event marked processed in the same transaction;
 * - already_processed: an earlier run did it (jobs are at-least-once);
 * - missing: no such event in this workspace;
 * - failed: it can never be processed as stored (unreadable, its inbox deleted...): the row keeps why.
 */
export type InboundOutcome = 'processed' | 'already_processed' | 'missing' | 'failed';

/** Failures no retry can fix: recorded on the event, and the job ends. */
const PERMANENT_KINDS: ReadonlySet<DomainError['kind']> = new Set(['invalid', 'not_found', 'conflict', 'unprocessable', 'forbidden']);

/**
 * The `inbound.process` job: a stored provider event becomes contact, conversation and message
 * (through InboundService, the one inbound path of every channel), or a follow/unfollow on the
 * customer's identity. Idempotent: the event row is locked, and marked processed with the writes.
 */
@Injectable()
export class InboundEventsService {
  constructor(
    private readonly db: TenantDb,
    private readonly events: InboundEventsRepository,
    private readonly identities: IdentitiesRepository,
    private readonly inbound: InboundService,
  ) {}

  /** Throws on a failure that may pass (database, deadlock): the job retries. */
  async process(workspaceId: string, eventId: string): Promise<InboundOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.run(workspaceId, (tx) => this.processIn(tx, eventId));
      } catch (error) {
        // Two first messages of a new customer raced: the loser runs once more and finds the winner's rows.
        if (attempt === 0 && uniqueViolation(error)) continue;
        await this.db.run(workspaceId, (tx) => this.events.recordError(tx, eventId, failureText(error))).catch(() => undefined);
        if (error instanceof MalformedStoredEvent || (error instanceof DomainError && PERMANENT_KINDS.has(error.kind))) return 'failed';
        throw error;
      }
    }
  }

  private async processIn(tx: TenantTx, eventId: string): Promise<InboundOutcome> {
    const found = isUuid(eventId) ? await this.events.findForUpdateWithInbox(tx, eventId) : null;
    if (!found) return 'missing';
    const { event: row, inbox } = found;
    if (row.processedAt) return 'already_processed';
    const event = readStoredEvent(row.kind, row.event);
    if (!inbox) throw DomainError.notFound('inbox');
    if (event.kind === 'message') await this.inbound.receiveOnInboxIn(tx, inbox, inboundMessage(row.id, row.inboxId, inbox.channel, event));
    else if (event.kind === 'contact') await this.applyContactEvent(tx, row.inboxId, inbox.channel, event);
    else throw new MalformedStoredEvent('a delivery receipt is applied by status.apply, not inbound.process');
    await this.events.markProcessed(tx, row.id);
    return 'processed';
  }

  /** A follow creates (or revives) the identity and its contact; an unfollow marks a known identity. */
  private async applyContactEvent(tx: TenantTx, inboxId: string, channel: Channel, event: ContactEvent): Promise<void> {
    if (event.action === 'subscribed') {
      const identity = await this.inbound.identityIn(tx, inboxId, contactOfSender(channel, event.sender), channel);
      if (identity.unsubscribedAt) await this.identities.setUnsubscribed(tx, identity.id, null);
      return;
    }
    const identity = await this.identities.findByExternalId(tx, inboxId, event.sender.externalId);
    if (identity) await this.identities.setUnsubscribed(tx, identity.id, event.occurredAt);
  }
}

/**
 * The provider's message as InboundService takes it. The message gets its event's id (a UUIDv7 taken
 * when the hook received it), so a thread lists messages in the order they reached Ferry, whichever
 * worker happened to write them first.
 */
export function inboundMessage(eventId: string, inboxId: string, channel: Channel, event: InboundMessageEvent): InboundMessage {
  const input: InboundMessage = {
    inboxId,
    contact: contactOfSender(channel, event.sender),
    message: { id: eventId, externalId: event.providerMessageId, body: event.body, attachments: event.attachments },
  };
  if (event.email) {
    input.message.email = { messageId: event.email.messageId, subject: event.email.subject ?? null };
    // In-Reply-To names the parent; References lists the ancestors oldest first, so the nearest is last.
    const thread = [event.email.inReplyTo, ...[...event.email.references].reverse()].filter((id): id is string => !!id);
    if (thread.length > 0) input.thread = [...new Set(thread)];
  }
  if (event.replyToken) input.replyToken = event.replyToken;
  if (event.editOf) input.editOf = event.editOf;
  return input;
}
