import { Injectable } from '@nestjs/common';
import { type EventEnvelope, type EventType, uuidv7 } from '#domain';
import type { ContactEntity, TenantTx } from '#database';
import { Outbox } from '#queue';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { type ConversationRow, ConversationsRepository } from '../conversations/conversations.repository.js';
import { type MessageRow, MessagesRepository } from '../messages/messages.repository.js';
import {
  contactEventData,
  conversationEventData,
  type EventDataByType,
  inboxEventData,
  messageEventData,
} from './event-data.js';
import { LivePublisher } from './live-publisher.js';

type MessageEvent = 'message.created' | 'message.updated';
type ConversationEvent = 'conversation.created' | 'conversation.updated';
type ContactEvent = 'contact.created' | 'contact.updated';

/**
 * Writes the events of the catalogue (#domain EVENT_TYPES), in the caller's transaction, so an event
 * exists exactly when the change it describes commits. Two subscribers:
 * - webhooks: an `event.dispatch` outbox job, written only when an enabled endpoint of the workspace
 *   subscribes to the type (checked in the insert itself), fanned out by the worker after commit. The
 *   insert is the transaction's last statement, sent with its COMMIT (tx.atCommit): nothing in the
 *   transaction reads it, and one round trip fewer is a good share of a short transaction's cost;
 * - the live stream: published to the workspace's agents once the transaction has committed, by the
 *   process that made the change (best effort: a dashboard that reconnects reloads what it shows).
 * The envelope, id included, is built here once, so every retry and every subscriber sees the same id.
 * Each call site is one line: pass the row in hand, or its id to have it read inside the transaction.
 */
@Injectable()
export class EventWriter {
  /** Events of each open transaction waiting for its commit to go live. */
  private readonly liveAfterCommit = new WeakMap<TenantTx, EventEnvelope[]>();

  constructor(
    private readonly outbox: Outbox,
    private readonly messages: MessagesRepository,
    private readonly conversations: ConversationsRepository,
    private readonly contacts: ContactsRepository,
    private readonly identities: IdentitiesRepository,
    private readonly live: LivePublisher,
  ) {}

  async emit<T extends EventType>(tx: TenantTx, type: T, data: EventDataByType[T]): Promise<EventEnvelope<EventDataByType[T]>> {
    const event = envelope(tx, type, data);
    const job = this.outbox.prepare('event.dispatch', { workspaceId: tx.workspaceId, event: event as unknown as EventEnvelope });
    const written = tx.atCommit(
      `INSERT INTO outbox (id, workspace_id, job_name, payload)
       SELECT $1, $2, $3, $4::jsonb WHERE ferry_event_subscribed($2, $5)
       RETURNING id`,
      [job.id, tx.workspaceId, job.jobName, job.payload, type],
    );
    this.outbox.publishIfWritten(tx, job, written);
    this.publishAfterCommit(tx, event as unknown as EventEnvelope);
    return event;
  }

  /**
   * One event of `type` per message, written in one statement (as emit writes one): queued for
   * fan-out when an endpoint subscribes to the type, published live after commit.
   */
  async messageBatch(tx: TenantTx, type: MessageEvent, rows: MessageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const createdAt = new Date().toISOString();
    const jobs = rows.map((row) => {
      const event: EventEnvelope = { id: uuidv7(), type, createdAt, workspaceId: tx.workspaceId, data: messageEventData(row) };
      return this.outbox.prepare('event.dispatch', { workspaceId: tx.workspaceId, event });
    });
    const written = tx.atCommit(
      `INSERT INTO outbox (id, workspace_id, job_name, payload)
       SELECT t.id, $1, 'event.dispatch', t.payload FROM unnest($2::uuid[], $3::jsonb[]) AS t(id, payload)
       WHERE ferry_event_subscribed($1, $4)
       RETURNING id`,
      [tx.workspaceId, jobs.map((job) => job.id), jobs.map((job) => job.payload), type],
    );
    for (const job of jobs) this.outbox.publishIfWritten(tx, job, written);
    for (const job of jobs) this.publishAfterCommit(tx, job.data.event);
  }

  /** The transaction's events go live together, in the order written, once it has committed. */
  private publishAfterCommit(tx: TenantTx, event: EventEnvelope): void {
    const waiting = this.liveAfterCommit.get(tx);
    if (waiting) return void waiting.push(event);
    const events = [event];
    this.liveAfterCommit.set(tx, events);
    tx.afterCommit(() => this.live.publishAll(events));
  }

  async message(tx: TenantTx, type: MessageEvent, message: MessageRow | string): Promise<void> {
    const row = typeof message === 'string' ? await this.messages.findById(tx, message) : message;
    if (row) await this.emit(tx, type, messageEventData(row));
  }

  /**
   * message(), for a row the caller has just written in a statement that also read
   * ferry_event_subscribed(workspace, type) (`subscribed`): with no subscriber there is no outbox row
   * to write, only the live stream to tell after commit.
   */
  async messageWritten(tx: TenantTx, type: MessageEvent, row: MessageRow, subscribed: boolean): Promise<void> {
    await this.messagesWritten(tx, type, [row], subscribed);
  }

  /** messageWritten for several rows written in one statement that read the subscription once. */
  async messagesWritten(tx: TenantTx, type: MessageEvent, rows: MessageRow[], subscribed: boolean): Promise<void> {
    if (subscribed) return this.messageBatch(tx, type, rows);
    for (const row of rows) this.publishAfterCommit(tx, envelope(tx, type, messageEventData(row)) as unknown as EventEnvelope);
  }

  async conversation(tx: TenantTx, type: ConversationEvent, conversation: ConversationRow | string): Promise<void> {
    const row = typeof conversation === 'string' ? await this.conversations.findById(tx, conversation) : conversation;
    if (row) await this.emit(tx, type, conversationEventData(row));
  }

  /** The contact with its identities, read now (after the change). */
  async contact(tx: TenantTx, type: ContactEvent, contactId: string): Promise<void> {
    const contact = await this.contacts.findById(tx, contactId);
    if (contact) await this.emit(tx, type, contactEventData(contact, await this.identities.listByContact(tx, contactId)));
  }

  /** contact.created for a contact just written, with no identity yet: from the row in hand. */
  async contactCreated(tx: TenantTx, contact: ContactEntity): Promise<void> {
    await this.emit(tx, 'contact.created', contactEventData(contact, []));
  }

  /** `contactId` remains; `mergedContactIds` were folded into it. */
  async contactMerged(tx: TenantTx, contactId: string, mergedContactIds: string[]): Promise<void> {
    const contact = await this.contacts.findById(tx, contactId);
    if (!contact) return;
    await this.emit(tx, 'contact.merged', { contact: contactEventData(contact, await this.identities.listByContact(tx, contactId)), mergedContactIds });
  }

  async inbox(tx: TenantTx, view: Parameters<typeof inboxEventData>[0], deletedAt: Date | null = null): Promise<void> {
    await this.emit(tx, 'inbox.updated', inboxEventData(view, deletedAt));
  }
}

function envelope<T extends EventType>(tx: TenantTx, type: T, data: EventDataByType[T]): EventEnvelope<EventDataByType[T]> {
  return { id: uuidv7(), type, createdAt: new Date().toISOString(), workspaceId: tx.workspaceId, data };
}
