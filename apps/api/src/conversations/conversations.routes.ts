import type { Type } from '@nestjs/common';
import { ApiChannelController } from './api-channel.controller.js';
import { ContactsController } from './contacts.controller.js';
import { ConversationsController } from './conversations.controller.js';
import { MessagesController } from './messages.controller.js';

/** Controllers of contacts, conversations, messages and the API channel's inbound. */
export const CONVERSATION_CONTROLLERS: Type[] = [ContactsController, ConversationsController, MessagesController, ApiChannelController];
