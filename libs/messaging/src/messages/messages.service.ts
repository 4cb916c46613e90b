import { Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { type DeliveryAttemptEntity, TenantDb, type TenantTx } from '#database';
import { Outbox } from '#queue';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { ConversationsRepository } from '../conversations/conversations.repository.js';
import { chooseIdentity } from './identity-choice.js';
import { type MessageOrder, type MessageRow, MessagesRepository } from './messages.repository.js';
import { assertOutgoingMessage, type OutgoingMessage } from './outgoing-message.js';

export interface MessageDetail {
  message: MessageRow;
  attempts: DeliveryAttemptEntity[];
}

/** A conversation's thread: reading it, and posting replies and notes to it. */
@Injectable()
export class MessagesService {
  constructor(
    private readonly db: TenantDb,
    private readonly messages: MessagesRepository,
    private readonly conversations: ConversationsRepository,
    private readonly identities: IdentitiesRepository,
    private readonly outbox: Outbox,
  ) {}

  async list(
    workspaceId: string,
    conversationId: string,
    page: { order?: MessageOrder; cursor?: string; limit: number },
  ): Promise<Page<MessageRow>> {
    const order = page.order ?? 'desc';
    // The order travels in the cursor: a cursor from an ascending page cannot continue a descending one.
    const after = decodeCursor(page.cursor, (key) => key === order);
    const rows = await this.db.run(workspaceId, async (tx) => {
      await this.conversation(tx, conversationId);
      return this.messages.listByConversation(tx, conversationId, { order, ...(after ? { afterId: after.id } : {}), limit: page.limit + 1 });
    });
    return pageOf(rows, page.limit, (row) => ({ key: order, id: row.id }));
  }

  async get(workspaceId: string, id: string): Promise<MessageDetail> {
    return this.db.run(workspaceId, async (tx) => {
      const message = isUuid(id) ? await this.messages.findById(tx, id) : null;
      if (!message) throw DomainError.notFound('message');
      return { message, attempts: await this.messages.listAttempts(tx, id) };
    });
  }

  /**
   * Posts a message. A note stays inside Ferry. A reply is written `queued` with its outbox job in the
   * same transaction, so it is sent exactly when (and only if) it is committed.
   */
  async post(workspaceId: string, conversationId: string, senderMemberId: string | null, input: OutgoingMessage): Promise<MessageRow> {
    return this.db.run(workspaceId, async (tx) => {
      const conversation = await this.conversation(tx, conversationId);
      assertOutgoingMessage(input);
      const base = {
        id: uuidv7(),
        conversationId,
        type: input.type,
        body: input.body ?? '',
        senderMemberId,
        externalId: null,
      };
      if (input.type === 'note') {
        const note = await this.messages.insert(tx, {
          ...base,
          direction: 'note',
          status: 'received',
          template: null,
          identityId: null,
          inboxId: null,
          fallback: [],
        });
        await this.conversations.touchActivity(tx, conversationId);
        return note;
      }
      const identities = await this.identities.listSendable(tx, conversation.contactId);
      const choice = chooseIdentity(identities, input.via?.identityId, input.fallback ?? []);
      const message = await this.messages.insert(tx, {
        ...base,
        direction: 'out',
        status: 'queued',
        template: input.template ?? null,
        identityId: choice.identity.id,
        inboxId: choice.identity.inboxId,
        fallback: choice.fallback,
      });
      await this.outbox.write(tx, 'message.send', { workspaceId, messageId: message.id });
      await this.conversations.touchActivity(tx, conversationId);
      return message;
    });
  }

  private async conversation(tx: TenantTx, id: string): Promise<{ id: string; contactId: string }> {
    const row = isUuid(id) ? await this.conversations.findById(tx, id) : null;
    if (!row) throw DomainError.notFound('conversation');
    return row;
  }
}
