import type { Provider } from '@nestjs/common';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { ContactsService } from '../contacts/contacts.service.js';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { MessagesService } from '../messages/messages.service.js';
import { ReplyBatchService } from '../messages/reply-batch.service.js';
import { AssignmentRefsRepository } from './assignment-refs.repository.js';
import { ConversationsRepository } from './conversations.repository.js';
import { ConversationsService } from './conversations.service.js';
import { InboundService } from './inbound.service.js';

/** Contacts, conversations, messages and the API channel's inbound. */
export const CONVERSATION_PROVIDERS: Provider[] = [
  ContactsRepository,
  IdentitiesRepository,
  ConversationsRepository,
  AssignmentRefsRepository,
  MessagesRepository,
  ContactsService,
  ConversationsService,
  MessagesService,
  ReplyBatchService,
  InboundService,
];
