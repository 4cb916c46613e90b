import { Injectable } from '@nestjs/common';
import type { ContactEvent, HookEvent, InboundMessageEvent } from '#channels';
import { type Channel, DomainError, isUuid } from '#domain';
import { type InboundEventEntity, type InboxEntity, TenantDb, type TenantTx } from '#database';
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
 * The `inbound.process` job: stored provider events become contact, conversation and message
 * (through InboundService, the one inbound path of every channel), or a follow/unfollow on the
 * customer's identity. Idempotent: each event row is locked, and marked processed with the writes.
 * A job names the events its hook stored together; they are processed in one transaction.
 */
@Injectable()
export class InboundEventsService {
  constructor(
    private readonly db: TenantDb,
    private readonly events: InboundEventsRepository,
    private readonly identities: IdentitiesRepository,
    private readonly inbound: InboundService,
  ) {}

  /**
   * Several events in one transaction, each customer's in the order they arrived. When that
   * transaction fails (an event that cannot be processed, two first messages of a new customer
   * racing), each event runs on its own, so one never holds up the others. Throws (the job retries;
   * events done by then are no-ops next time) only on a failure that may pass.
   */
  async processMany(workspaceId: string, eventIds: string[]): Promise<InboundOutcome[]> {
    const ids = [...new Set(eventIds)].sort();
    if (ids.length > 1 && ids.every(isUuid)) {
      try {
        const outcomes = await this.db.run(workspaceId, (tx) => this.processAllIn(tx, ids));
        return eventIds.map((id) => outcomes.get(id)!);
      } catch {
        // each on its own, below
      }
    }
    const outcomes = new Map<string, InboundOutcome>();
    for (const id of ids) outcomes.set(id, await this.process(workspaceId, id));
    return eventIds.map((id) => outcomes.get(id)!);
  }

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
    if (found.event.processedAt) return 'already_processed';
    await this.apply(tx, found.event, found.inbox, readStoredEvent(found.event.kind, found.event.event));
    await this.events.markProcessed(tx, [found.event.id]);
    return 'processed';
  }

  /**
   * All of `ids` (sorted) in `tx`. Rows are written in the order of their customers (inbox, then
   * sender), each customer's events oldest first: concurrent batches then take the customers' row
   * locks in the same order and never deadlock on them. Messages keep their events' ids, so threads
   * read in arrival order whatever order they were written in.
   */
  private async processAllIn(tx: TenantTx, ids: string[]): Promise<Map<string, InboundOutcome>> {
    const outcomes = new Map<string, InboundOutcome>(ids.map((id) => [id, 'missing']));
    const pending = (await this.events.findManyForUpdateWithInbox(tx, ids)).flatMap(({ event: row, inbox }) => {
      if (row.processedAt) {
        outcomes.set(row.id, 'already_processed');
        return [];
      }
      const event = readStoredEvent(row.kind, row.event);
      const sender = event.kind === 'status' ? '' : event.sender.externalId;
      return [{ row, inbox, event, order: `${row.inboxId}\u0000${sender}` }];
    });
    pending.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : a.row.id < b.row.id ? -1 : 1));
    // Known customers' plain messages together; the rest (and customers with other events) one by one.
    const messages = pending.flatMap(({ row, inbox, event }) =>
      event.kind === 'message' && inbox ? [{ inbox, input: inboundMessage(row.id, row.inboxId, inbox.channel, event) }] : [],
    );
    const others = new Set(pending.flatMap(({ row, event }) => (event.kind === 'contact' ? [`${row.inboxId} ${event.sender.externalId}`] : [])));
    const written = messages.length > 1 ? await this.inbound.receiveFromKnownCustomersIn(tx, messages, others) : new Set<string>();
    for (const { row, inbox, event } of pending) {
      if (!written.has(row.id)) await this.apply(tx, row, inbox, event);
      outcomes.set(row.id, 'processed');
    }
    await this.events.markProcessed(tx, pending.map(({ row }) => row.id));
    return outcomes;
  }

  private async apply(tx: TenantTx, row: InboundEventEntity, inbox: InboxEntity | null, event: HookEvent): Promise<void> {
    if (!inbox) throw DomainError.notFound('inbox');
    if (event.kind === 'message') await this.inbound.receiveOnInboxIn(tx, inbox, inboundMessage(row.id, row.inboxId, inbox.channel, event));
    else if (event.kind === 'contact') await this.applyContactEvent(tx, row.inboxId, inbox.channel, event);
    else throw new MalformedStoredEvent('a delivery receipt is applied by status.apply, not inbound.process');
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
