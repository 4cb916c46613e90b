import { Injectable } from '@nestjs/common';
import { type Channel, DomainError, isUuid, uuidv7 } from '#domain';
import { type ContactIdentityEntity, type InboxEntity, type MessageAttachment, TenantDb, type TenantTx } from '#database';
import { EventWriter } from '../events/event-writer.js';
import { InboxesRepository } from '../inboxes/inboxes.repository.js';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { normaliseContactFields } from '../contacts/contact-fields.js';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { type MessageRow, MessagesRepository } from '../messages/messages.repository.js';
import { type ConversationRow, ConversationsRepository } from './conversations.repository.js';
import { uniqueViolation } from './unique-violation.js';

/** A customer's message as any channel delivers it, once parsed: who wrote, on which inbox, what. */
export interface InboundMessage {
  inboxId: string;
  contact: { externalId: string; name?: string | null; email?: string | null; phone?: string | null };
  message: {
    /** The id to give the message (default: a new one). The hook pipeline gives the id its event got on arrival. */
    id?: string;
    externalId: string;
    body: string;
    attachments?: MessageAttachment[];
    /** Email: the mail's Message-ID and subject, which the replies thread on. */
    email?: { messageId: string; subject?: string | null };
  };
  /** Email: the Message-IDs this mail answers, In-Reply-To first, then References: the thread it joins. */
  thread?: string[];
  /** LINE: a reply token for one free reply to this customer, until it expires. */
  replyToken?: { token: string; expiresAt: Date };
  /** The provider's id of an earlier message this one edits (Telegram edited_message): its body is replaced. */
  editOf?: string;
}

export interface InboundResult {
  /** false when this was a redelivery of a message already stored (nothing was written). */
  created: boolean;
  message: MessageRow;
  /** The conversation it joined; null only for a redelivery whose contact was deleted since. */
  conversation: ConversationRow | null;
}

/**
 * Inbound for every channel: identity -> contact -> conversation -> message, in one transaction.
 * The identity (inbox, externalId) finds the contact; a new identity joins a contact with the same
 * email or phone, else a new contact; the message joins the contact's open conversation, else opens one.
 */
@Injectable()
export class InboundService {
  constructor(
    private readonly db: TenantDb,
    private readonly inboxes: InboxesRepository,
    private readonly contacts: ContactsRepository,
    private readonly identities: IdentitiesRepository,
    private readonly conversations: ConversationsRepository,
    private readonly messages: MessagesRepository,
    private readonly events: EventWriter,
  ) {}

  /** An integrator's push to an `api` inbox (POST /v1/inboxes/{id}/inbound). */
  async receiveFromApi(workspaceId: string, input: InboundMessage): Promise<InboundResult> {
    return this.receive(workspaceId, input, 'api');
  }

  /**
   * Stores one inbound message. Two first messages of a new customer racing each other both try to
   * create the contact, identity or conversation; the unique indexes let one win, and the loser runs
   * once more and finds what the winner wrote.
   */
  async receive(workspaceId: string, input: InboundMessage, channel?: Channel): Promise<InboundResult> {
    normaliseContactFields(input.contact);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.run(workspaceId, (tx) => this.receiveIn(tx, input, channel));
      } catch (error) {
        if (attempt > 0 || !uniqueViolation(error)) throw error;
      }
    }
  }

  /**
   * receive() inside the caller's transaction (the hook pipeline marks its event processed in the same
   * one). A unique violation here means a concurrent first message won a race: roll back and run again.
   */
  async receiveIn(tx: TenantTx, input: InboundMessage, channel?: Channel): Promise<InboundResult> {
    const stored = await this.receiveOnInboxIn(tx, await this.inboxOf(tx, input.inboxId, channel), input);
    return { created: stored.created, message: stored.message, conversation: await this.conversations.findById(tx, stored.message.conversationId) };
  }

  /**
   * receiveIn for a caller that has read the inbox already (the hook pipeline); the conversation is not
   * read back. A new message is written with its effects (conversation activity, the identity's window)
   * in one statement.
   */
  async receiveOnInboxIn(tx: TenantTx, inbox: InboxEntity, input: InboundMessage): Promise<{ created: boolean; message: MessageRow }> {
    if (input.editOf !== undefined) {
      const edited = await this.messages.findByExternalId(tx, inbox.id, input.editOf);
      if (edited) {
        await this.messages.updateBody(tx, edited.id, input.message.body);
        const message = (await this.messages.findById(tx, edited.id)) ?? edited;
        await this.events.message(tx, 'message.updated', message);
        return { created: false, message };
      }
    }
    // An edit whose original has not arrived yet (or never will) stands in for it, under the original's
    // id: the original, arriving late, is then a redelivery, and the newer text stays.
    const externalId = input.editOf ?? input.message.externalId;
    const redelivered = await this.messages.findByExternalId(tx, inbox.id, externalId);
    if (redelivered) return { created: false, message: redelivered };
    const identity = await this.resolveIdentity(tx, inbox, input.contact);
    const threaded = input.thread?.length ? await this.threadConversation(tx, identity.contactId, input.thread) : null;
    const conversationId = threaded ?? (await this.openConversation(tx, identity.contactId, inbox.id));
    const message = await this.messages.insertWithEffects(
      tx,
      {
        id: input.message.id ?? uuidv7(),
        conversationId,
        direction: 'in',
        type: 'text',
        body: input.message.body,
        template: null,
        status: 'received',
        identityId: identity.id,
        inboxId: inbox.id,
        senderMemberId: null,
        externalId,
        fallback: [],
        ...(input.message.attachments?.length ? { attachments: input.message.attachments } : {}),
        ...(input.message.email ? { emailMessageId: input.message.email.messageId, emailSubject: input.message.email.subject ?? null } : {}),
      },
      { lastInboxId: inbox.id, inboundIdentityId: identity.id },
    );
    if (input.replyToken) await this.identities.setReplyToken(tx, identity.id, input.replyToken.token, input.replyToken.expiresAt);
    await this.events.message(tx, 'message.created', message);
    return { created: true, message };
  }

  /**
   * The common case of a batch, set-based: plain messages (no edit, mail thread or reply token) of
   * customers already known (identity on the inbox, contact not deleted) who have an open, not
   * snoozed, conversation, none of them stored before. They are written together (three reads for
   * the whole batch, one statement for the messages with their effects, one for their events), with
   * the same outcome as receiveOnInboxIn one by one. A customer is taken whole or not at all;
   * `excluded` names customers (`${inboxId} ${externalId}`) with other events in the batch.
   * Answers the ids of the messages written; the caller writes the rest one by one.
   */
  async receiveFromKnownCustomersIn(
    tx: TenantTx,
    items: Array<{ inbox: InboxEntity; input: InboundMessage }>,
    excluded: ReadonlySet<string> = new Set(),
  ): Promise<Set<string>> {
    const customerOf = (item: { inbox: InboxEntity; input: InboundMessage }): string => `${item.inbox.id} ${item.input.contact.externalId}`;
    const plain = (input: InboundMessage): boolean =>
      input.message.id !== undefined && input.editOf === undefined && !input.thread?.length && !input.replyToken && !input.message.email;
    const byCustomer = new Map<string, Array<{ inbox: InboxEntity; input: InboundMessage }>>();
    for (const item of items) byCustomer.set(customerOf(item), [...(byCustomer.get(customerOf(item)) ?? []), item]);
    for (const [customer, own] of byCustomer) if (excluded.has(customer) || !own.every((item) => plain(item.input))) byCustomer.delete(customer);
    if (byCustomer.size === 0) return new Set();

    const customers = [...byCustomer.values()].map((own) => ({ inboxId: own[0]!.inbox.id, externalId: own[0]!.input.contact.externalId }));
    const identities = await this.identities.findManyByExternalIdWithContact(tx, customers);
    const candidates = [...byCustomer.values()].flat().filter((item) => identities.get(customerOf(item))?.contactLive);
    if (candidates.length === 0) return new Set();
    const stored = await this.messages.findExternalIds(tx, candidates.map((item) => ({ inboxId: item.inbox.id, externalId: item.input.message.externalId })));
    const open = await this.conversations.findOpenByContacts(tx, [...new Set(candidates.map((item) => identities.get(customerOf(item))!.identity.contactId))]);
    const seen = new Set<string>();
    const blocked = new Set<string>();
    for (const item of candidates) {
      const key = `${item.inbox.id} ${item.input.message.externalId}`;
      const conversation = open.get(identities.get(customerOf(item))!.identity.contactId);
      // A redelivery, the same message twice, or no conversation to join as it is: the long way.
      if (stored.has(key) || seen.has(key) || !conversation || conversation.status === 'snoozed') blocked.add(customerOf(item));
      seen.add(key);
    }
    const written = candidates.filter((item) => !blocked.has(customerOf(item)));
    if (written.length === 0) return new Set();
    const rows = await this.messages.insertInboundMany(
      tx,
      written.map(({ inbox, input }) => {
        const { identity } = identities.get(customerOf({ inbox, input }))!;
        return {
          id: input.message.id!,
          conversationId: open.get(identity.contactId)!.id,
          identityId: identity.id,
          inboxId: inbox.id,
          externalId: input.message.externalId,
          body: input.message.body,
          attachments: input.message.attachments ?? [],
        };
      }),
    );
    await this.events.messageBatch(tx, 'message.created', rows);
    return new Set(rows.map((row) => row.id));
  }

  /** The identity (and contact) of a customer on an inbox, found or created: a follow with no message yet. */
  async identityIn(tx: TenantTx, inboxId: string, contact: InboundMessage['contact'], channel?: Channel): Promise<ContactIdentityEntity> {
    return this.resolveIdentity(tx, await this.inboxOf(tx, inboxId, channel), contact);
  }

  private async inboxOf(tx: TenantTx, inboxId: string, channel: Channel | undefined): Promise<InboxEntity> {
    const inbox = isUuid(inboxId) ? await this.inboxes.findById(tx, inboxId) : null;
    if (!inbox) throw DomainError.notFound('inbox');
    if (channel && inbox.channel !== channel) {
      throw DomainError.conflict(`inbox.not_${channel}_channel`, `This inbox is a ${inbox.channel} inbox, not ${channel}`);
    }
    return inbox;
  }

  private async resolveIdentity(
    tx: TenantTx,
    inbox: InboxEntity,
    contact: InboundMessage['contact'],
  ): Promise<ContactIdentityEntity> {
    const known = await this.identities.findByExternalIdWithContact(tx, inbox.id, contact.externalId);
    if (known?.contactLive) return known.identity;
    const { contactId, created } = await this.findOrCreateContact(tx, contact);
    if (known) {
      // Its contact was deleted: the customer came back, as a new relationship.
      await this.identities.moveToContact(tx, known.identity.id, contactId);
      await this.events.contact(tx, created ? 'contact.created' : 'contact.updated', contactId);
      return { ...known.identity, contactId };
    }
    const identity = await this.identities.insert(tx, {
      id: uuidv7(),
      contactId,
      inboxId: inbox.id,
      channel: inbox.channel,
      externalId: contact.externalId,
      displayName: contact.name ?? null,
    });
    // A new contact, or a known one (same email or phone) reached on one more channel.
    await this.events.contact(tx, created ? 'contact.created' : 'contact.updated', contactId);
    return identity;
  }

  /** Contact-centric: the same person on a second channel is recognised by their email or phone. */
  private async findOrCreateContact(tx: TenantTx, contact: InboundMessage['contact']): Promise<{ contactId: string; created: boolean }> {
    const email = contact.email?.trim() || null;
    const phone = contact.phone || null;
    const existing =
      (email ? await this.contacts.findByEmail(tx, email) : null) ?? (phone ? await this.contacts.findByPhone(tx, phone) : null);
    if (existing) return { contactId: existing.id, created: false };
    const created = await this.contacts.insert(tx, {
      id: uuidv7(),
      name: contact.name ?? null,
      email,
      phone,
      language: null,
      timezone: null,
      country: null,
      customAttributes: {},
    });
    return { contactId: created.id, created: true };
  }

  /**
   * Email threading: the conversation of the first mail (in the order given) that this one answers, if it
   * is this contact's. A resolved one reopens, unless the contact has another open conversation (one open
   * per contact): then the reply joins that one. Null when no mail of the thread is known.
   */
  private async threadConversation(tx: TenantTx, contactId: string, emailMessageIds: string[]): Promise<string | null> {
    const known = await this.messages.findConversationsByEmailMessageIds(tx, emailMessageIds);
    const byMessageId = new Map(known.map((row) => [row.emailMessageId, row.conversationId]));
    for (const id of emailMessageIds) {
      const conversationId = byMessageId.get(id);
      if (!conversationId) continue;
      const conversation = await this.conversations.findById(tx, conversationId);
      if (!conversation || conversation.contactId !== contactId) continue;
      if (conversation.status === 'resolved') {
        if (await this.conversations.findOpenByContact(tx, contactId)) return null;
        await this.conversations.update(tx, conversation.id, { status: 'open', resolved: false, snoozedUntil: null });
        await this.events.conversation(tx, 'conversation.updated', conversation.id);
      } else if (conversation.status === 'snoozed') {
        await this.conversations.update(tx, conversation.id, { status: 'open', snoozedUntil: null });
        await this.events.conversation(tx, 'conversation.updated', conversation.id);
      }
      return conversation.id;
    }
    return null;
  }

  /** The contact's open conversation (a snoozed one wakes up), or a new one. */
  private async openConversation(tx: TenantTx, contactId: string, inboxId: string): Promise<string> {
    const open = await this.conversations.findOpenByContact(tx, contactId);
    if (open) {
      if (open.status === 'snoozed') await this.conversations.update(tx, open.id, { status: 'open', snoozedUntil: null });
      if (open.status === 'snoozed') await this.events.conversation(tx, 'conversation.updated', open.id);
      return open.id;
    }
    const id = uuidv7();
    await this.conversations.insert(tx, { id, contactId, lastInboxId: inboxId });
    await this.events.conversation(tx, 'conversation.created', id);
    return id;
  }
}
