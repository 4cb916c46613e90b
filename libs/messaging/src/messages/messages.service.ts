import { Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { type DeliveryAttemptEntity, TenantDb, type TenantTx } from '#database';
import { Outbox } from '#queue';
import { ConversationsRepository } from '../conversations/conversations.repository.js';
import { FallbackRepository } from '../delivery/fallback.repository.js';
import { EventWriter } from '../events/event-writer.js';
import { ReachabilityRepository } from '../reachability/reachability.repository.js';
import { ReachabilityService } from '../reachability/reachability.service.js';
import { TemplatesService } from '../templates/templates.service.js';
import { chooseIdentity, policyFallback } from './identity-choice.js';
import { type MessageOrder, type MessageRow, MessagesRepository } from './messages.repository.js';
import { ReplyBatchService } from './reply-batch.service.js';
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
    private readonly outbox: Outbox,
    private readonly reachability: ReachabilityService,
    private readonly reachabilityFacts: ReachabilityRepository,
    private readonly templates: TemplatesService,
    private readonly policy: FallbackRepository,
    private readonly events: EventWriter,
    private readonly replies: ReplyBatchService,
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
   * same transaction, so it is sent exactly when (and only if) it is committed. A reply no identity of
   * its route can take now (window closed, quota used, unsubscribed) is refused before anything is
   * written; one whose first identity cannot but a fallback one can is accepted as it is, `fallback`
   * stored, for the worker to hop (ReachabilityService's send contract). A template reply names an
   * approved template of its identity's inbox; its body is the template's text, filled in. A reply
   * without `fallback` gets the workspace's default fallback policy (`fallback: []` turns it off).
   */
  async post(workspaceId: string, conversationId: string, senderMemberId: string | null, input: OutgoingMessage): Promise<MessageRow> {
    // Plain replies are written together with the others arriving at the same time (ReplyBatchService).
    if (input.type === 'text' && !input.template && isUuid(conversationId)) {
      const outcome = await this.replies.submit(workspaceId, { conversationId, senderMemberId, input });
      if (outcome.kind === 'written') return outcome.message;
      if (outcome.kind === 'refused') throw outcome.error;
    }
    return this.db.run(workspaceId, async (tx) => {
      // The conversation, its contact and the contact's identities with their reachability facts: one statement.
      const target = isUuid(conversationId) ? await this.reachabilityFacts.conversationFacts(tx, conversationId) : null;
      if (!target) throw DomainError.notFound('conversation');
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
        const note = await this.messages.insertWithEffectsAndSubscription(
          tx,
          { ...base, direction: 'note', status: 'received', template: null, identityId: null, inboxId: null, fallback: [] },
          {},
          'message.created',
        );
        await this.events.messageWritten(tx, 'message.created', note.message, note.eventSubscribed);
        return note.message;
      }
      const identities = target.identities;
      const chosen = chooseIdentity(identities, input.via?.identityId, input.fallback ?? []);
      // A contact with one identity has nothing to fall back to: no policy to read.
      const choice = input.fallback || identities.length < 2
        ? chosen
        : { ...chosen, fallback: policyFallback(identities, chosen.identity.id, await this.policy.fallbackChannels(tx)) };
      const body = input.template ? await this.templates.renderForSend(tx, choice.identity.inboxId, input.template) : base.body;
      await this.reachability.assertSendableFrom(
        tx,
        { identityId: choice.identity.id, inboxId: choice.identity.inboxId, fallback: choice.fallback, kind: input.template ? 'template' : 'free_form' },
        identities,
      );
      // The message, its send job, the conversation's activity and whether an endpoint subscribes to
      // message.created: one statement; the job is published after commit.
      const job = this.outbox.prepare('message.send', { workspaceId, messageId: base.id });
      const written = await this.messages.insertWithEffectsAndSubscription(
        tx,
        {
          ...base,
          body,
          direction: 'out',
          status: 'queued',
          template: input.template ?? null,
          identityId: choice.identity.id,
          inboxId: choice.identity.inboxId,
          fallback: choice.fallback,
        },
        { job },
        'message.created',
      );
      this.outbox.publishAfterCommit(tx, job);
      await this.events.messageWritten(tx, 'message.created', written.message, written.eventSubscribed);
      return written.message;
    });
  }

  private async conversation(tx: TenantTx, id: string): Promise<{ id: string; contactId: string }> {
    const row = isUuid(id) ? await this.conversations.findById(tx, id) : null;
    if (!row) throw DomainError.notFound('conversation');
    return row;
  }
}
