import type { Type } from '@nestjs/common';

/** Controllers of contacts, conversations, messages and the API channel's inbound. */
export const CONVERSATION_CONTROLLERS: Type[] = [];
